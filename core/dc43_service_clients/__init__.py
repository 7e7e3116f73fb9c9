"""Compatibility import path ``dc43_service_clients``; the code lives in :mod:`dc43`."""
