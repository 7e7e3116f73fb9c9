"""Expectation plans derived from contracts and their evaluation."""

from dc43.quality.plan import Expectation, Unsupported, expectations_for, plan_contract
from dc43.quality.service import LocalDataQualityService

__all__ = ["Expectation", "LocalDataQualityService", "Unsupported", "expectations_for", "plan_contract"]
