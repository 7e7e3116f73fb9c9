"""Compatibility import path ``dc43_integrations.spark``."""
