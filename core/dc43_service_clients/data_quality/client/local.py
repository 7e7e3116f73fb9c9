"""The original import path of the in-process data-quality client."""

from dc43_service_clients.data_quality import LocalDataQualityService, LocalDataQualityServiceClient

__all__ = ["LocalDataQualityService", "LocalDataQualityServiceClient"]
