"""Per-batch judging without Spark: timeline, idle batches, governance keys, strategies."""

from __future__ import annotations

from typing import Any

import pytest
from dc43.errors import ContractViolationError, StreamingInterventionError
from dc43.formats import DatasetTarget
from dc43.governance import LocalGovernanceService
from dc43.quality import LocalDataQualityService
from dc43.results import ValidationResult
from dc43.spark.monitor import BatchMonitor
from dc43.strategies import NoOpStreamingInterventionStrategy, StreamingInterventionStrategy
from open_data_contract_standard.model import OpenDataContractStandard

CONTRACT = OpenDataContractStandard.model_validate({
    "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.events", "version": "1.0.0",
    "schema": [{"name": "events", "properties": [
        {"name": "id", "physicalType": "bigint", "required": True},
        {"name": "score", "physicalType": "double",
         "quality": [{"mustBeLessThan": 10, "severity": "warning"}]},
    ]}],
})
CLEAN = {"row_count": 4, "violations.not_null:id": 0, "violations.lt:score": 0}
NULL_IDS = {"row_count": 4, "violations.not_null:id": 2, "violations.lt:score": 0}
HIGH_SCORES = {"row_count": 4, "violations.not_null:id": 0, "violations.lt:score": 3}


def monitor(**kwargs: Any) -> BatchMonitor:
    defaults = dict(
        contract=CONTRACT,
        target=DatasetTarget(format="memory", dataset_id="events", dataset_version="{batch_id}"),
        result=ValidationResult(), status=ValidationResult(status="unknown"),
        data_quality_service=LocalDataQualityService(),
        governance_service=LocalGovernanceService(),
        strategy=NoOpStreamingInterventionStrategy(), enforce=False,
    )
    defaults.update(kwargs)
    return BatchMonitor(**defaults)


def test_verdicts_follow_rule_severity() -> None:
    m = monitor()
    assert m.process(0, CLEAN)["status"] == "ok"
    warned = m.process(1, HIGH_SCORES)
    assert warned["status"] == "warn" and warned["violations"] == 3
    blocked = m.process(2, NULL_IDS)
    assert blocked["status"] == "block" and blocked["errors"] == ["not_null:id: 2 row(s) violate not_null"]
    assert m.result.status == "block" and m.result.details["streaming_failed_batches"] == 1
    assert m.result.details["streaming_totals"]["violations.lt:score"] == 3


def test_empty_batches_are_idle_and_not_evaluated() -> None:
    seen: list[dict[str, Any]] = []
    governance = LocalGovernanceService()
    m = monitor(on_batch=seen.append, governance_service=governance)
    entry = m.process(0, {"row_count": 0})
    assert entry["status"] == "idle"
    assert governance.verdicts("events") == []
    assert [e["status"] for e in seen] == ["idle"]


def test_the_timeline_is_bounded_and_keeps_the_newest() -> None:
    m = monitor(max_batches=3)
    for batch_id in range(5):
        m.process(batch_id, CLEAN)
    assert [e["batch_id"] for e in m.result.details["streaming_batches"]] == [2, 3, 4]


def test_a_replayed_batch_replaces_its_governance_verdict() -> None:
    governance = LocalGovernanceService()
    m = monitor(governance_service=governance)
    m.process(7, NULL_IDS)
    m.process(7, CLEAN)  # the same batch, replayed after a restart
    (verdict,) = governance.verdicts("events")
    assert (verdict.dataset_version, verdict.batch_id, verdict.status) == ("7", 7, "ok")


def test_a_strategy_that_raises_blocks_the_pipeline() -> None:
    class Broken(StreamingInterventionStrategy):
        def decide(self, context: Any) -> str | None:
            raise KeyError("oops")

    m = monitor(strategy=Broken())
    with pytest.raises(StreamingInterventionError, match="Broken raised KeyError"):
        m.process(0, CLEAN)
    assert m.result.details["streaming_intervention_batch"] == 0


def test_enforce_raises_on_a_blocking_batch_only() -> None:
    m = monitor(enforce=True)
    m.process(0, HIGH_SCORES)  # a warning never stops the stream
    with pytest.raises(ContractViolationError, match="micro-batch 1 of 'events'"):
        m.process(1, NULL_IDS)


def test_missing_metrics_make_the_verdict_unknown() -> None:
    entry = monitor().process(0, {"row_count": 3})
    assert entry["status"] == "unknown"
