"""A stream that stalls past its contract's frequency is stale: recorded in governance while it
runs, alerted, and ended by the next batch with rows."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
from dc43.alerts import WebhookNotifier
from dc43.contracts import LocalContractServiceClient
from dc43.errors import ContractFormatError
from dc43.freshness import poll_period
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard

from tests.http_receiver import Receiver
from tests.spark.orders import BATCHES, SCHEMA, orders_contract, stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

FREQUENCY_S = 2.0
#: how late the check may see it, on top of the frequency and a polling period: the verdict reaches
#: the caller after its timestamp (a progress event later on Spark Connect), on a loaded machine too
SLACK_S = 5.0


def with_sla(services: dict[str, Any], *sla: dict[str, Any]) -> dict[str, Any]:
    """The services, with the orders contract promising ``sla``."""
    store = InMemoryContractStore()
    store.put(OpenDataContractStandard.model_validate(
        {**orders_contract().model_dump(by_alias=True, exclude_none=True), "slaProperties": list(sla)}))
    return {**services, "contract_service": LocalContractServiceClient(store)}


def wait_for(check, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_stalled_stream_is_stale_within_the_frequency_and_the_next_batch_ends_it(
        spark, parquet_batches, services, tmp_path):
    services = with_sla(services, {"property": "frequency", "value": FREQUENCY_S, "unit": "s"})
    governance = services["governance_service"]
    source = parquet_batches(SCHEMA, [BATCHES[0]])
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    webhook = Receiver()
    sink = str(tmp_path / "sink")
    result = write_stream_with_contract(df=df, contract_id="sales.orders", format="parquet", path=sink,
                                        options={"checkpointLocation": str(tmp_path / "cp")},
                                        notifiers=["log", WebhookNotifier(webhook.url)], **services)
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
        judged_at = at(result.details["streaming_batches"][-1]["timestamp"])

        # (a slow start may already have been stale before batch 0, from the write's start: a period of its own)
        def after_batch_0() -> list[dict[str, Any]]:
            return [p for p in governance.stale_periods(sink) if p["last_batch_id"] == 0]

        (period,) = wait_for(after_batch_0)  # while the stream still runs
        assert all(q.isActive for q in result.details["streaming_queries"])
        assert period["ended_at"] is None and period["frequency_s"] == FREQUENCY_S
        late = at(period["detected_at"]) - judged_at
        assert FREQUENCY_S <= late <= FREQUENCY_S + poll_period(FREQUENCY_S) + SLACK_S
        assert result.details["stale"]["last_batch_id"] == 0

        parquet_batches(SCHEMA, [BATCHES[3]], first=1)  # the source delivers again
        wait_for(lambda: after_batch_0()[0]["ended_at"])
        assert result.details["stale"] is None
    finally:
        stop_all(result)
        webhook.close()
    said = [(a["previous"], a["status"], a["batch_id"]) for a in webhook.events]
    assert said[-2:] == [("ok", "stale", 0), ("stale", "ok", 1)]
    assert said[:-2] in ([], [("ok", "stale", None), ("stale", "ok", 0)])
    assert "frequency" in webhook.events[-2]["reason"]
    assert all(p["ended_at"] for p in governance.stale_periods(sink))


def test_a_frequency_with_an_unknown_unit_is_refused_before_any_query_starts(spark, parquet_batches, services,
                                                                             tmp_path):
    services = with_sla(services, {"property": "frequency", "value": 1, "unit": "fortnights"})
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet",
                                      path=parquet_batches(SCHEMA, [BATCHES[0]]), **services)
    with pytest.raises(ContractFormatError, match="slaProperties\\[frequency\\].unit.*fortnights.*s, m, h, d"):
        write_stream_with_contract(df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "s"),
                                   options={"checkpointLocation": str(tmp_path / "cp")}, **services)
    assert spark.streams.active == []
