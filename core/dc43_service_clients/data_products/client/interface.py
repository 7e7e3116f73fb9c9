"""The original import path of the data-product-service protocol."""

from dc43.legacy.protocols import DataProductServiceClient

__all__ = ["DataProductServiceClient"]
