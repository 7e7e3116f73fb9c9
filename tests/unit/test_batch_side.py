"""Per-batch judging without Spark: the batch side's verdicts, governance keys and strategies,
and the caller side's timeline, through the in-process link."""

from __future__ import annotations

from typing import Any

import pytest
from dc43.errors import ContractViolationError, StreamingInterventionError
from dc43.governance import LocalGovernanceService
from dc43.quality import LocalDataQualityService
from dc43.results import ValidationResult
from dc43.settings import Settings
from dc43.spark.batch_side import BatchSide, ServiceRef
from dc43.spark.caller_side import CallerSide
from dc43.spark.links import InProcessLink
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


class Judged:
    """A batch side linked in process to the caller side whose result it updates."""

    def __init__(self, *, strategy: Any = None, enforce: bool = False, on_batch: Any = None,
                 max_batches: int = 100, governance_service: Any = ...) -> None:
        strategy = strategy or NoOpStreamingInterventionStrategy()
        governance = LocalGovernanceService() if governance_service is ... else governance_service
        self.result = ValidationResult()
        self.caller = CallerSide(result=self.result, status=ValidationResult(status="unknown"),
                                 strategy=strategy, on_batch=on_batch, max_batches=max_batches)
        settings = Settings()
        self.side = BatchSide(
            spec=None, contract=CONTRACT, dataset_id="events", version_template="{batch_id}", schema=None,
            enforce=enforce, strategy=strategy,
            quality=ServiceRef("data_quality", LocalDataQualityService(), settings=settings),
            governance=None if governance is None else ServiceRef("governance", governance, settings=settings),
        ).linked(InProcessLink(self.caller))

    def process(self, batch_id: int, metrics: dict[str, int]) -> dict[str, Any]:
        return self.side.judge_in(None, batch_id, metrics)


def monitor(**kwargs: Any) -> Judged:
    return Judged(**kwargs)


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
