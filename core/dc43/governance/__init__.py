"""Governance: where schema observations and batch verdicts are recorded."""

from dc43.governance.local import LocalGovernanceService
from dc43.governance.service import BatchVerdict, GovernanceService, SchemaObservation

__all__ = ["BatchVerdict", "GovernanceService", "LocalGovernanceService", "SchemaObservation"]
