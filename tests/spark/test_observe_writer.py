"""The `observe` writer: metrics ride the sink's own pass, no second query."""

from __future__ import annotations

import time

import pytest
from dc43.errors import ContractViolationError
from dc43.quality import LocalDataQualityService

from tests.spark.orders import start_write, stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect]

EXACT_RULES = ("row_count", "violations.not_null:customer", "violations.ge:amount",
               "violations.enum:currency")


def run(spark, df, tmp_path, services, writer: str) -> dict:
    before = len(spark.streams.active)
    result, sink_name = start_write(df, tmp_path / writer, services, enforce=False,
                                    observation_writer=writer)
    try:
        queries = result.details["streaming_queries"]
        started = len(spark.streams.active) - before
        for query in queries:
            query.processAllAvailable()
        last = queries[0].lastProgress["batchId"]
        assert result.details["streaming_monitor"].wait_for_batch(last, timeout=60)
    finally:
        stop_all(result)
    return {"result": result, "started": started, "sink_rows": spark.table(sink_name).count()}


def test_observe_counts_match_foreach_batch_without_a_second_query(
        spark, source_stream, tmp_path, services, parquet_batches):
    observed = run(spark, source_stream, tmp_path, services, "observe")
    reference = run(spark, source_stream, tmp_path, services, "foreach-batch")
    assert observed["started"] == 1 and len(observed["result"].details["streaming_queries"]) == 1
    assert reference["started"] == 2

    def per_batch(outcome: dict) -> dict:
        return {e["batch_id"]: {k: e["metrics"][k] for k in EXACT_RULES}
                for e in outcome["result"].details["streaming_batches"] if "metrics" in e}

    assert per_batch(observed) == per_batch(reference)
    assert len(per_batch(observed)) == 4
    assert observed["result"].details["uniqueness"] == "not checked"
    assert observed["result"].details["unmeasured"] == ["unique:order_id", "unique_across:order_id"]
    assert reference["result"].details["uniqueness"] == "exact"
    statuses = [e["status"] for e in observed["result"].details["streaming_batches"]]
    assert statuses == ["unknown", "block", "block", "unknown"]  # unique:order_id is never measured
    assert observed["sink_rows"] == reference["sink_rows"] == 8


def test_observe_stops_the_sink_when_enforcement_fails(spark, source_stream, tmp_path, services):
    result, _ = start_write(source_stream, tmp_path, services, enforce=True,
                            observation_writer="observe")
    (sink,) = result.details["streaming_queries"]
    try:
        with pytest.raises(ContractViolationError, match="micro-batch 1"):
            sink.awaitTermination(60)
        assert not sink.isActive
    finally:
        stop_all(result)
    assert "micro-batch 1" in result.details["streaming_error"]
    assert result.status == "block"


class SlowJudge(LocalDataQualityService):
    """Judges each batch a little after Spark committed it, as a remote service would."""

    def evaluate(self, *, contract, payload):
        time.sleep(0.4)
        return super().evaluate(contract=contract, payload=payload)


@pytest.mark.parametrize("wait", ["processAllAvailable", "awaitTermination", "stop"])
def test_waiting_on_an_observe_write_returns_with_every_batch_judged(
        spark, source_stream, tmp_path, services, wait):
    """The listener judges after the commit; waiting on the query waits for it too, so a caller
    that exits right after has every verdict recorded."""
    services = {**services, "data_quality_service": SlowJudge()}
    trigger = {"availableNow": True} if wait == "awaitTermination" else None
    result, _ = start_write(source_stream, tmp_path, services, enforce=False, observation_writer="observe",
                            trigger=trigger)
    (sink,) = result.details["streaming_queries"]
    try:
        if wait == "awaitTermination":
            sink.awaitTermination(120)
        else:
            sink.spark_query.processAllAvailable() if wait == "stop" else sink.processAllAvailable()
            if wait == "stop":
                sink.stop()
        judged = [e["batch_id"] for e in result.details["streaming_batches"] if "metrics" in e]
        recorded = services["governance_service"].verdicts(result.details["dataset_id"])
    finally:
        stop_all(result)
    assert judged == [0, 1, 2, 3]
    assert sorted(v.batch_id for v in recorded) == [0, 1, 2, 3]


def test_a_replayed_batch_the_sink_skips_gets_an_unknown_verdict_said_why(spark, source_stream, tmp_path):
    """The driver died after the sink wrote batch 3 but before Spark committed it, and before
    it was judged: the restart replays batch 3, the file sink skips it (nothing is measured),
    and the verdict says so. That replay is the restart's first event, heard as the sink starts."""
    from dc43_integrations.spark.io import write_stream_with_contract

    from tests.spark.orders import governance_file, orders_services

    def write(services: dict) -> None:
        result = write_stream_with_contract(
            df=source_stream, contract_id="sales.orders", format="parquet", path=str(tmp_path / "main"),
            options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="observe", enforce=False,
            trigger={"availableNow": True}, **services)
        for query in result.details["streaming_queries"]:
            query.awaitTermination(120)

    write(orders_services())
    for name in ("3", ".3.crc"):  # Spark had not committed batch 3
        (tmp_path / "cp" / "commits" / name).unlink()
    restarted = {**orders_services(), "governance_service": governance_file()}  # nor had dc43 judged it
    write(restarted)
    verdicts = restarted["governance_service"].verdicts(str(tmp_path / "main"))
    assert [v.batch_id for v in verdicts] == [0, 1, 2, 3]
    assert {v.status for v in verdicts} == {"unknown"}
    assert ["the sink skipped it" in v.reason for v in verdicts] == [False, False, False, True]
    assert spark.read.parquet(str(tmp_path / "main")).count() == 8  # the skipped batch is not written twice
