"""The local data-quality service: expectation plans and metric evaluation."""

from __future__ import annotations

from typing import Any

from dc43.quality.plan import Expectation, plan_contract
from dc43.results import ObservationPayload, ValidationResult


def _rule_entry(expectation: Expectation, violations: Any) -> dict[str, Any]:
    return {
        "key": expectation.key, "rule": expectation.rule, "column": expectation.column,
        "severity": expectation.severity, "violations": violations,
        "params": dict(expectation.params),
    }


class LocalDataQualityService:
    """Derives expectations from the contract and turns metrics into a verdict.

    Violations of ``error`` rules block, of ``warning`` rules warn, of ``info``
    rules are only reported.  Any other ``violations.*`` metric above zero
    (cast losses, undecodable messages) blocks.  When the payload carries no
    metric for a planned expectation the verdict is ``unknown``.
    """

    def describe_expectations(self, *, contract: Any) -> list[Expectation]:
        return plan_contract(contract)[0]

    def evaluate(self, *, contract: Any, payload: ObservationPayload) -> ValidationResult:
        plan, unsupported = plan_contract(contract)
        metrics = dict(payload.metrics)
        result = ValidationResult(metrics=metrics, schema=payload.schema)
        rules, missing = [], []
        for expectation in plan:
            count = metrics.get(expectation.metric)
            rules.append(_rule_entry(expectation, count))
            if count is None:
                missing.append(expectation.key)
            elif count > 0:
                message = f"{expectation.key}: {count} row(s) violate {expectation.rule}"
                if expectation.severity == "error":
                    result.add_error(message)
                elif expectation.severity == "warning":
                    result.add_warning(message)
        planned = {e.metric for e in plan}
        for key, value in sorted(metrics.items()):
            if key.startswith("violations.") and key not in planned and value:
                result.add_error(f"{key[len('violations.'):]}: {value} row(s) in violation")
        for note in unsupported:
            result.add_warning(note)
        if missing and result.status == "ok":
            result.status = "unknown"
            result.reason = f"no metrics for {', '.join(missing)}"
        result.details["rules"] = rules
        return result
