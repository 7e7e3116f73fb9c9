"""The original import path of governance's requests, plans and assessments."""

from dc43.legacy.plans import (
    ContractReference,
    GovernanceReadContext,
    GovernanceWriteContext,
    PipelineContext,
    QualityAssessment,
    ResolvedReadPlan,
    ResolvedWritePlan,
)
from dc43.legacy.plans import pipeline_context_of as normalise_pipeline_context

__all__ = ["ContractReference", "GovernanceReadContext", "GovernanceWriteContext", "PipelineContext",
           "QualityAssessment", "ResolvedReadPlan", "ResolvedWritePlan", "normalise_pipeline_context"]
