"""What must hold wherever Spark runs (classic, Spark Connect, a standalone cluster), and what
a topology refuses, before any query starts, when it cannot work there."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from dc43.errors import Dc43Error
from dc43.governance import LocalGovernanceService
from dc43_integrations.spark.io import write_stream_with_contract

from tests.spark.orders import start_write, stop_all
from tests.spark.test_streaming_write import BlockAfterFailures

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]


def active(spark: Any) -> set[str]:
    return {str(q.id) for q in spark.streams.active}


def test_the_callers_strategy_holds_the_state_its_decisions_were_made_with(source_stream, tmp_path, services):
    strategy = BlockAfterFailures(max_failures=5)
    result, _ = start_write(source_stream, tmp_path, services, enforce=False,
                            streaming_intervention_strategy=strategy)
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
    finally:
        stop_all(result)
    assert [e["status"] for e in result.details["streaming_batches"]] == ["ok", "block", "block", "ok"]
    assert strategy._failures == 2  # counted where the batches were judged, on Connect too


def test_the_live_result_and_the_callback_follow_the_stream_without_waiting_on_it(
        source_stream, tmp_path, services):
    seen: list[int] = []
    last = threading.Event()

    def follow(entry: dict[str, Any]) -> None:
        seen.append(entry["batch_id"])
        if entry["batch_id"] == 3:
            last.set()

    result, _ = start_write(source_stream, tmp_path, services, enforce=False, on_streaming_batch=follow)
    try:
        assert last.wait(120), "the fourth micro-batch never reached the caller"
        assert [e["batch_id"] for e in result.details["streaming_batches"]] == [0, 1, 2, 3]
        assert result.details["streaming_totals"]["row_count"] == 8
    finally:
        stop_all(result)
    assert seen == [0, 1, 2, 3]


def test_observe_removes_its_listener_once_the_sink_ends(spark, source_stream, tmp_path, services):
    result, _ = start_write(source_stream, tmp_path, services, enforce=False, observation_writer="observe")
    (sink,) = result.details["streaming_queries"]
    try:
        sink.processAllAvailable()
    finally:
        stop_all(result)
    listeners = result.details["streaming_monitor"].listeners
    assert listeners and all(events.removed.wait(60) for events in listeners)


def test_governance_kept_in_memory_cannot_judge_batches_on_a_connect_server(
        spark, topology, source_stream, tmp_path, services):
    services["governance_service"] = LocalGovernanceService()  # in this process's memory
    before = active(spark)
    if topology != "connect":  # the batch side runs in this process: it can record there
        result, _ = start_write(source_stream, tmp_path, services, enforce=False)
        try:
            for query in result.details["streaming_queries"]:
                query.processAllAvailable()
        finally:
            stop_all(result)
        assert len(services["governance_service"].verdicts("sales.orders")) == 4
        return
    with pytest.raises(Dc43Error) as refused:
        start_write(source_stream, tmp_path, services, enforce=False)
    message = str(refused.value)
    assert "governance_service cannot be sent to the Spark Connect server" in message
    assert "LocalGovernanceService('/shared/governance.db')" in message
    assert active(spark) == before


class LockingStrategy(BlockAfterFailures):
    """A strategy holding a lock: it cannot be pickled."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


def test_a_strategy_that_cannot_be_pickled_is_refused_on_connect_before_any_query_starts(
        spark, topology, source_stream, tmp_path, services):
    before = active(spark)
    if topology != "connect":
        result, _ = start_write(source_stream, tmp_path, services, enforce=False,
                                streaming_intervention_strategy=LockingStrategy())
        stop_all(result)
        return
    with pytest.raises(Dc43Error, match="streaming_intervention_strategy cannot be sent to the Spark Connect"):
        start_write(source_stream, tmp_path, services, enforce=False,
                    streaming_intervention_strategy=LockingStrategy())
    assert active(spark) == before
    assert not (tmp_path / "cp").exists()


@pytest.mark.parametrize("path, problem", [
    ("relative/out", "needs an absolute path on Spark Connect"),
    ("s3a://bucket/out", "cannot reach 's3a:' paths"),
])
def test_the_gate_refuses_a_sink_path_it_cannot_publish_to_on_connect(
        spark, topology, source_stream, tmp_path, services, path, problem):
    if topology != "connect":  # Hadoop's FileSystem publishes: it takes any path Spark takes
        from dc43.formats import DatasetTarget
        from dc43.plugins import get_plugin_manager

        parquet = get_plugin_manager().lookup("format", "parquet").value
        parquet.check_batch_writes(spark, DatasetTarget(format="parquet", dataset_id="x", dataset_version="0",
                                                        path=path))
        return
    before = active(spark)
    with pytest.raises(Dc43Error, match=problem):
        write_stream_with_contract(
            df=source_stream, contract_id="sales.orders", format="parquet", path=path,
            options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline", **services)
    assert active(spark) == before
    assert not (tmp_path / "cp").exists()


def test_each_layer_runs_where_it_says(spark, topology):
    from pyspark import SparkContext

    if topology == "connect":  # the server runs Spark; this process holds only a client
        assert type(spark).__module__.startswith("pyspark.sql.connect")
        assert SparkContext._gateway is None and SparkContext._active_spark_context is None
        return
    context = spark.sparkContext
    executors = context.statusTracker().getExecutorInfos()  # the driver is listed too
    if topology == "cluster":
        assert context.master.startswith("spark://127.0.0.1:")
        assert len(executors) >= 2  # executors in a worker's JVMs, not this process
    else:
        assert context.master == "local[2]" and len(executors) == 1


STRATEGY_MODULE = '''
from dc43.strategies import StreamingInterventionStrategy


class LocalOnly(StreamingInterventionStrategy):
    def decide(self, context):
        return None
'''


def test_a_module_the_server_cannot_import_is_named_in_the_error(
        spark, topology, source_stream, tmp_path, services, monkeypatch):
    import importlib
    import sys

    (tmp_path / "client_only_strategies.py").write_text(STRATEGY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))  # on this process's path only, not the server's
    strategy = importlib.import_module("client_only_strategies").LocalOnly()
    before = active(spark)
    try:
        if topology == "connect":  # the server unpickles the batch side as the query starts
            with pytest.raises(Dc43Error, match="cannot import 'client_only_strategies'.*PYSPARK_PYTHON"):
                start_write(source_stream, tmp_path, services, enforce=False,
                            streaming_intervention_strategy=strategy)
            assert active(spark) == before  # the sink it had started was stopped
            return
        result, _ = start_write(source_stream, tmp_path, services, enforce=False,
                                streaming_intervention_strategy=strategy)
        try:  # the batch side runs here, where the module is importable
            for query in result.details["streaming_queries"]:
                query.processAllAvailable()
        finally:
            stop_all(result)
        assert len(result.details["streaming_batches"]) == 4
    finally:
        sys.modules.pop("client_only_strategies", None)
