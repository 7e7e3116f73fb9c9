"""The original import path for governance clients, the records they take and governed plans."""

from dc43.governance.local import LocalGovernanceService
from dc43.governance.service import BatchVerdict, SchemaObservation
from dc43.legacy.governance import LocalGovernance, build_local_governance_service
from dc43.legacy.plans import (
    ContractReference,
    GovernancePublicationMode,
    GovernanceReadContext,
    GovernanceWriteContext,
    PipelineContext,
    QualityAssessment,
)
from dc43.legacy.plans import pipeline_context_of as normalise_pipeline_context
from dc43.legacy.protocols import GovernanceServiceClient

#: the original system's name of the in-process governance client
LocalGovernanceServiceClient = LocalGovernanceService

__all__ = ["BatchVerdict", "ContractReference", "GovernancePublicationMode", "GovernanceReadContext",
           "GovernanceServiceClient", "GovernanceWriteContext", "LocalGovernance", "LocalGovernanceService",
           "LocalGovernanceServiceClient", "PipelineContext", "QualityAssessment", "SchemaObservation",
           "build_local_governance_service", "normalise_pipeline_context"]
