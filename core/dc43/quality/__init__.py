"""Expectation plans derived from contracts and their evaluation."""

from dc43.quality.plan import Expectation, expectations_for, plan_contract
from dc43.quality.service import LocalDataQualityService

__all__ = ["Expectation", "LocalDataQualityService", "expectations_for", "plan_contract"]
