"""The original import path for governance clients and the records they take."""

from dc43.governance.local import LocalGovernanceService
from dc43.governance.service import BatchVerdict, SchemaObservation

#: the original system's name of the in-process governance client
LocalGovernanceServiceClient = LocalGovernanceService

__all__ = ["BatchVerdict", "LocalGovernanceService", "LocalGovernanceServiceClient", "SchemaObservation"]
