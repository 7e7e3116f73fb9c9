"""Compatibility import path ``dc43_service_backends.contracts.backend``."""
