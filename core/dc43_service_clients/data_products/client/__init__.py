"""Compatibility import path ``dc43_service_clients.data_products.client``."""
