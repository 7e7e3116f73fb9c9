"""Compatibility import path ``dc43_integrations``; the code lives in :mod:`dc43`."""
