"""``stop()`` on a busy stream: the batch in flight is finished and judged, the next one never
starts, and a restart on the checkpoint judges and writes the rest, each batch once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from dc43.governance import LocalGovernanceService
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

from tests.spark.orders import SCHEMA

pytestmark = [pytest.mark.spark, pytest.mark.cluster]

FILES = 12


def start(spark: Any, source: str, tmp_path: Any, services: dict[str, Any], writer: str, **kwargs: Any) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return write_stream_with_contract(
        df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "main"), enforce=False,
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer=writer, **services, **kwargs)


@pytest.mark.parametrize("writer", ["foreach-batch", "inline"])
def test_stopping_a_busy_stream_then_restarting_judges_and_writes_every_batch_once(
        spark, parquet_batches, tmp_path, services, writer):
    source = parquet_batches(SCHEMA, [[(n, "ann", 1.0, "EUR")] for n in range(FILES)])
    busy = threading.Event()
    first = start(spark, source, tmp_path, services, writer,
                  on_streaming_batch=lambda entry: busy.set() if entry["batch_id"] >= 2 else None)
    assert busy.wait(120)
    for query in first.details["streaming_queries"]:  # files are waiting: the batches run back to back
        query.stop()
    assert first.details.get("streaming_error") is None
    assert [query.exception() for query in first.details["streaming_queries"]] == [None] * len(
        first.details["streaming_queries"])
    stopped_at = max(entry["batch_id"] for entry in first.details["streaming_batches"])
    assert stopped_at < FILES - 1, "the stream ended before it was stopped: nothing was in flight"

    again = start(spark, source, tmp_path, services, writer, trigger={"availableNow": True})
    for query in again.details["streaming_queries"]:
        assert query.awaitTermination(300)
    rows = spark.read.parquet(str(tmp_path / "main")).select("order_id").collect()
    assert sorted(row[0] for row in rows) == list(range(FILES))  # every row once
    governance: LocalGovernanceService = services["governance_service"]
    verdicts = governance.verdicts(str(tmp_path / "main"))
    assert sorted(v.batch_id for v in verdicts) == list(range(FILES))  # every batch judged once
    assert {v.status for v in verdicts} == {"ok"}
