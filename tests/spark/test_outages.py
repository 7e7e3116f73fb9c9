"""Services that fail for a while: the stream keeps its policy and every verdict arrives once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from dc43.delivery import Outbox, ServiceUnavailableError
from dc43.governance import LocalGovernanceService
from dc43.quality import LocalDataQualityService
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

from tests.spark.orders import BATCHES, SCHEMA, drained

pytestmark = [pytest.mark.spark, pytest.mark.connect]

FAST = {"backoff": 0.01}  # retries without waiting long


class FlakyGovernance(LocalGovernanceService):
    """Refuses the first ``failures`` deliveries of each verdict of ``batches`` (as a service down)."""

    def __init__(self, path: Path, batches: set[int], failures: int = 3) -> None:
        super().__init__(path)
        self.batches, self.failures, self.refused = batches, failures, {}

    def __reduce__(self) -> Any:
        return FlakyGovernance, (self.path, self.batches, self.failures)

    def record_verdict(self, verdict: Any) -> None:
        if verdict.batch_id in self.batches:
            self.refused[verdict.batch_id] = self.refused.get(verdict.batch_id, 0) + 1
            if self.refused[verdict.batch_id] <= self.failures:
                raise ConnectionError(f"governance is down (batch {verdict.batch_id})")
        super().record_verdict(verdict)


class FlakyQuality(LocalDataQualityService):
    """Fails the first ``failures`` evaluations of batches of ``row_counts`` rows, counted per row
    count (the batches of BATCHES hold 2, 3, 2 and 1 rows)."""

    def __init__(self, row_counts: set[int], failures: int = 3) -> None:
        self.row_counts, self.failures, self.calls = row_counts, failures, {}

    def evaluate(self, *, contract: Any, payload: Any) -> Any:
        rows = payload.metrics.get("row_count")  # none in the schema-only payload at start
        if rows in self.row_counts:
            self.calls[rows] = self.calls.get(rows, 0) + 1
            if self.calls[rows] <= self.failures:
                raise TimeoutError("the data-quality service did not answer")
        return super().evaluate(contract=contract, payload=payload)


def stream(spark: Any, source: str, services: dict[str, Any]) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return df


def write(df: Any, tmp_path: Path, services: dict[str, Any], **kwargs: Any) -> Any:
    return write_stream_with_contract(**{
        "df": df, "contract_id": "sales.orders", "format": "parquet", "path": str(tmp_path / "out"),
        "options": {"checkpointLocation": str(tmp_path / "cp")}, "enforce": False, "outage_policy": FAST,
        **services, **kwargs})


def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / ".dc43" / "outbox.db")  # the test's state dir (tests/conftest.py)


@pytest.mark.parametrize("writer", ["foreach-batch", "inline"])
def test_a_governance_outage_delays_verdicts_but_loses_none(spark, parquet_batches, tmp_path, services, writer):
    governance = services["governance_service"] = FlakyGovernance(tmp_path / "gov.db", batches={1, 2})
    result = write(stream(spark, parquet_batches(SCHEMA, BATCHES), services), tmp_path, services,
                   observation_writer=writer)
    drained(result)
    verdicts = LocalGovernanceService(tmp_path / "gov.db").verdicts(str(tmp_path / "out"))
    assert sorted(v.batch_id for v in verdicts) == [0, 1, 2, 3]  # each once
    assert [v.status for v in sorted(verdicts, key=lambda v: v.batch_id)] == ["ok", "block", "block", "ok"]
    entries = {e["batch_id"]: e for e in result.details["streaming_batches"]}
    assert [entries[n].get("pending") for n in range(4)] == [None] * 4  # delivered: nothing marked pending
    assert entries[1]["retries"] == 2 and entries[2]["retries"] == 2
    assert outbox(tmp_path).count() == 0
    assert governance is not None and result.details["streaming_totals"]["row_count"] == 8


def test_verdicts_still_waiting_when_a_run_ends_go_out_with_the_next_run(spark, parquet_batches, tmp_path, services):
    services["governance_service"] = FlakyGovernance(tmp_path / "gov.db", batches={2}, failures=10)
    source = parquet_batches(SCHEMA, BATCHES[:3])
    first = write(stream(spark, source, services), tmp_path, services)
    drained(first)
    assert first.details["streaming_batches"][-1]["pending"] == ["governance"]  # batch 2 waits
    assert outbox(tmp_path).count() == 1
    services["governance_service"] = LocalGovernanceService(tmp_path / "gov.db")  # back up
    parquet_batches(SCHEMA, BATCHES[3:], first=3)
    drained(write(stream(spark, source, services), tmp_path, services))
    verdicts = LocalGovernanceService(tmp_path / "gov.db").verdicts(str(tmp_path / "out"))
    assert sorted(v.batch_id for v in verdicts) == [0, 1, 2, 3]
    assert outbox(tmp_path).count() == 0


def test_a_data_quality_outage_leaves_batches_unknown_until_judged(spark, parquet_batches, tmp_path, services):
    services["data_quality_service"] = FlakyQuality(row_counts={3, 2})  # batch 0 then batch 1 fail 3 times
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def follow(entry: dict[str, Any]) -> None:
        with lock:
            seen.append((entry["batch_id"], entry["status"]))

    result = write(stream(spark, parquet_batches(SCHEMA, BATCHES), services), tmp_path, services,
                   on_streaming_batch=follow)
    drained(result)
    assert seen[0] == (0, "unknown")  # said at once, judged when the service answered again
    final = {e["batch_id"]: e["status"] for e in result.details["streaming_batches"]}
    assert final == {0: "ok", 1: "block", 2: "block", 3: "ok"}
    assert sorted(b for b, s in seen if s != "unknown") == [0, 1, 2, 3]  # each judged once
    verdicts = services["governance_service"].verdicts(str(tmp_path / "out"))
    assert sorted(v.batch_id for v in verdicts) == [0, 1, 2, 3]
    assert result.details["streaming_totals"]["row_count"] == 8
    assert outbox(tmp_path).count() == 0
    assert spark.read.parquet(str(tmp_path / "out")).count() == 8  # the stream kept writing


def test_the_gate_under_enforce_waits_then_stops_without_publishing(spark, parquet_batches, tmp_path, services):
    services["data_quality_service"] = FlakyQuality(row_counts={3}, failures=10**6)  # batch 1 never judged
    result = write(stream(spark, parquet_batches(SCHEMA, BATCHES), services), tmp_path, services,
                   observation_writer="inline", enforce=True, outage_policy={"action": "wait", "wait": 0.5})
    with pytest.raises(ServiceUnavailableError, match="micro-batch 1 .* could not be judged"):
        drained(result)
    published = spark.read.parquet(str(tmp_path / "out")).select("_dc43_batch_id").distinct().collect()
    assert {r[0] for r in published} == {0}  # nothing of batch 1
    assert "ServiceUnavailableError" in result.details["streaming_error"]
