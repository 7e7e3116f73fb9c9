"""Streaming verdicts in a real SQLite governance file: exact, restart-safe, concurrent."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from dc43.governance import LocalGovernanceService
from dc43_integrations.spark.io import StaticDatasetLocator, read_stream_with_contract, write_stream_with_contract

from tests.spark.orders import BATCHES, SCHEMA, drained, stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]


def stream(spark: Any, path: str, services: dict[str, Any]) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet",
                                      path=path, options={"maxFilesPerTrigger": "1"}, **services)
    return df


def parquet_write(spark, df, tmp_path: Path, services, name: str, **kwargs: Any) -> Any:
    return write_stream_with_contract(
        df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / name),
        options={"checkpointLocation": str(tmp_path / f"{name}-cp")}, enforce=False,
        **services, **kwargs)


def test_restart_from_the_checkpoint_leaves_no_duplicate_and_no_gap(spark, parquet_batches, tmp_path, services):
    services["governance_service"] = governance = LocalGovernanceService(tmp_path / "gov.db")
    source = parquet_batches(SCHEMA, BATCHES[:2])
    drained(parquet_write(spark, stream(spark, source, services), tmp_path, services, "out"))
    assert [v.batch_id for v in governance.verdicts(str(tmp_path / "out"))] == [0, 1]

    parquet_batches(SCHEMA, BATCHES[2:], first=2)  # more data arrives while the job is down
    reopened = LocalGovernanceService(tmp_path / "gov.db")  # as a new process would
    services["governance_service"] = reopened
    drained(parquet_write(spark, stream(spark, source, services), tmp_path, services, "out"))
    verdicts = reopened.verdicts(str(tmp_path / "out"))
    assert [v.batch_id for v in verdicts] == [0, 1, 2, 3]
    assert [v.row_count for v in verdicts] == [2, 3, 2, 1]
    assert spark.read.parquet(str(tmp_path / "out")).count() == 8
    broken = [{r["key"]: r["violations"] for r in v.rules if r["passed"] is False} for v in verdicts]
    assert broken == [{}, {"not_null:customer": 1, "ge:amount": 2}, {"enum:currency": 1, "unique:order_id": 1}, {}]
    assert {r["column"] for r in verdicts[1].rules} >= {"customer", "amount", "currency"}  # every rule, kept per batch


def test_two_streams_sharing_one_governance_file_lose_no_verdict(spark, parquet_batches, tmp_path, services):
    services["governance_service"] = governance = LocalGovernanceService(tmp_path / "gov.db")
    first = parquet_batches(SCHEMA, BATCHES, name="a")
    second = parquet_batches(SCHEMA, BATCHES + BATCHES, name="b")
    results = [parquet_write(spark, stream(spark, first, services), tmp_path, services, "out-a"),
               parquet_write(spark, stream(spark, second, services), tmp_path, services, "out-b")]
    for result in results:
        drained(result)
    assert len(governance.verdicts(str(tmp_path / "out-a"))) == 4
    assert len(governance.verdicts(str(tmp_path / "out-b"))) == 8


def test_a_monitor_sees_verdicts_while_the_stream_runs_and_a_snapshot_agrees(
        spark, parquet_batches, tmp_path, services):
    services["governance_service"] = governance = LocalGovernanceService(tmp_path / "gov.db")
    source = parquet_batches(SCHEMA, BATCHES)
    result = parquet_write(spark, stream(spark, source, services), tmp_path, services, "out")
    seen: list[int] = []
    watching, saw_last = threading.Event(), threading.Event()

    def monitor() -> None:  # a separate process would do the same through the file
        reader = LocalGovernanceService(tmp_path / "gov.db")
        while not watching.is_set():
            latest = reader.latest_verdict(str(tmp_path / "out"))
            if latest is not None and latest.batch_id not in seen:
                seen.append(latest.batch_id)
                if latest.batch_id == 3:
                    saw_last.set()
            watching.wait(0.05)

    watcher = threading.Thread(target=monitor)
    watcher.start()
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
        assert saw_last.wait(30)
        assert all(q.isActive for q in result.details["streaming_queries"])  # still running
    finally:
        watching.set()
        watcher.join()
        stop_all(result)
    assert seen == sorted(seen) and seen[-1] == 3

    handle = governance.request_metrics(spark=spark, dataset_id=str(tmp_path / "out"),
                                        dataset_version="snapshot-1",
                                        contract_service=services["contract_service"],
                                        data_quality_service=services["data_quality_service"])
    assert handle.state().state in ("pending", "running", "done")
    done = handle.wait(timeout=120)
    assert done.state == "done", done.error
    totals = result.details["streaming_totals"]
    snapshot = governance.latest_verdict(str(tmp_path / "out"), "snapshot-1")
    for key in ("row_count", "violations.not_null:customer", "violations.ge:amount", "violations.enum:currency"):
        assert snapshot.metrics[key] == totals[key], key
    assert snapshot.status == done.status == "block"


@pytest.mark.parametrize("writer", ["foreach-batch", "inline", "observe"])
def test_two_queries_writing_one_dataset_keep_verdicts_of_their_own(spark, parquet_batches, tmp_path, services,
                                                                    writer):
    """Two pipelines feeding one dataset (two checkpoints, batch ids 0..3 each): eight verdicts, each
    query's under the id its checkpoint keeps, and a restart of one replaces none of the other's."""
    services["governance_service"] = governance = LocalGovernanceService(tmp_path / "gov.db")
    source = parquet_batches(SCHEMA, BATCHES)
    one = StaticDatasetLocator(dataset_id="sales.orders_all")

    def run(name: str) -> Any:
        return drained(parquet_write(spark, stream(spark, source, services), tmp_path, services, name,
                                     dataset_locator=one, observation_writer=writer))

    first, second = run("a"), run("b")
    verdicts = governance.verdicts("sales.orders_all")
    queries = {v.query_id for v in verdicts}
    assert len(verdicts) == 8 and len(queries) == 2 and "" not in queries
    assert sorted(v.batch_id for v in verdicts) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert {e["query_id"] for e in first.details["streaming_batches"]} | \
        {e["query_id"] for e in second.details["streaming_batches"]} == queries
    parquet_batches(SCHEMA, BATCHES[:1], first=4)  # one more file: "a" restarts from its checkpoint
    run("a")
    again = governance.verdicts("sales.orders_all")
    assert len(again) == 9 and {v.query_id for v in again} == queries
