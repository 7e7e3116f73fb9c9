"""The spec's import path for data-quality payloads, results and the local client."""

from dc43.quality.service import LocalDataQualityService
from dc43.results import ObservationPayload, ValidationResult

__all__ = ["LocalDataQualityService", "ObservationPayload", "ValidationResult"]
