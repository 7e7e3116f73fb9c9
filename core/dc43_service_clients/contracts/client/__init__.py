"""Compatibility import path ``dc43_service_clients.contracts.client``."""
