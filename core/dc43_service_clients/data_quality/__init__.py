"""The original import path for data-quality payloads, results and the local client."""

from dc43.legacy.protocols import DataQualityServiceClient
from dc43.quality.service import LocalDataQualityService
from dc43.results import ObservationPayload, ValidationResult

#: the original system's name of the in-process data-quality client
LocalDataQualityServiceClient = LocalDataQualityService

__all__ = ["DataQualityServiceClient", "LocalDataQualityService",
           "LocalDataQualityServiceClient", "ObservationPayload", "ValidationResult"]
