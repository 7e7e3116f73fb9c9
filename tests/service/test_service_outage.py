"""The shared service killed in the middle of a stream and started again: the stream never stops,
and every micro-batch ends with exactly one verdict, judged, in the service; then the metrics of the
stored snapshot, requested through the service."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from dc43.plugins import reset_plugin_manager
from dc43_http.clients import RemoteContractServiceClient, RemoteGovernanceServiceClient
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

from tests.parquet_files import write_parquet
from tests.service.conftest import fresh_database
from tests.service_process import ServeProcess
from tests.spark.orders import BATCHES, SCHEMA, apart, orders_contract, stop_all

pytestmark = [pytest.mark.service, pytest.mark.spark, pytest.mark.connect]

FEED = apart(BATCHES + BATCHES[:2])  # six batches, each a hand-counted batch of the orders stream
STATUSES = ["ok", "block", "block", "ok", "ok", "block"]


def _until(condition: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.1)


def test_a_service_killed_mid_stream_and_restarted_loses_and_repeats_no_verdict(
        spark, postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = ServeProcess(fresh_database(postgres), tmp_path / "service").start()
    monkeypatch.setenv("DC43_SERVICE_URL", service.url)
    monkeypatch.setenv("DC43_SERVICE_TOKEN", service.token)
    reset_plugin_manager()
    RemoteContractServiceClient(base_url=service.url, token=service.token).put(orders_contract())
    governance = RemoteGovernanceServiceClient(base_url=service.url, token=service.token)
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()

    def feed(index: int) -> None:
        write_parquet(spark, SCHEMA, FEED[index], source / f"part-{index:02d}.parquet")

    def judged(index: int) -> None:
        _until(lambda: any(b["batch_id"] == index for b in result.details.get("streaming_batches", [])),
               f"batch {index} is judged")

    feed(0)
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=str(source),
                                      options={"maxFilesPerTrigger": "1"})
    result = write_stream_with_contract(df=df, contract_id="sales.orders", format="parquet", path=str(out),
                                        options={"checkpointLocation": str(tmp_path / "cp")}, enforce=False,
                                        outage_policy={"backoff": 0.05})
    query = result.details["streaming_queries"][0]
    try:
        for index in range(6):
            if index == 2:
                service.kill()  # SIGKILL: nothing flushed, connections dropped
            if index == 4:
                service.start()  # the same port and database
            if index:
                feed(index)
            judged(index)
            assert query.isActive, query.exception()
            if index == 3:  # judged while the service was down: not known yet
                down = {b["batch_id"]: b["status"] for b in result.details["streaming_batches"] if b["batch_id"] > 1}
                assert down == {2: "unknown", 3: "unknown"}
        dataset = result.details["dataset_id"]
        _until(lambda: len(governance.verdicts(dataset)) == 6 and
               "unknown" not in {v.status for v in governance.verdicts(dataset)}, "every batch's verdict arrives")
        verdicts = governance.verdicts(dataset)
        assert [v.batch_id for v in sorted(verdicts, key=lambda v: v.batch_id)] == list(range(6))
        assert [v.status for v in sorted(verdicts, key=lambda v: v.batch_id)] == STATUSES
        assert [v.row_count for v in sorted(verdicts, key=lambda v: v.batch_id)] == [len(rows) for rows in FEED]
        assert query.isActive
        stop_all(result)
        # what a micro-batch monitor asks for next: the metrics of the stored snapshot, computed
        # in the background here, their state and result kept in the service
        handle = governance.request_metrics(spark=spark, dataset_id=dataset, dataset_version="snapshot-1")
        done = handle.wait(timeout=120)
        assert done.state == "done", done.error
        assert governance.metrics_request(handle.request_id).state == "done"
        snapshot = governance.latest_verdict(dataset, "snapshot-1")
        assert snapshot.row_count == sum(len(rows) for rows in FEED) and snapshot.status == done.status == "block"
    finally:
        stop_all(result)
        service.stop()
    assert service.token not in service.log()
