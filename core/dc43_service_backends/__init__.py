"""Compatibility import path ``dc43_service_backends``; the code lives in :mod:`dc43`."""
