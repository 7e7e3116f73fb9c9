"""The original import path of the remote data-quality client (the ``http`` plugin's)."""

from dc43_http.clients import RemoteDataQualityServiceClient

__all__ = ["RemoteDataQualityServiceClient"]
