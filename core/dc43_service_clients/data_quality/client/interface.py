"""The original import path of the data-quality-service protocol."""

from dc43.legacy.protocols import DataQualityServiceClient

__all__ = ["DataQualityServiceClient"]
