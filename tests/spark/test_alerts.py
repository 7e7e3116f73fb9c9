"""Alerts on a stream's status changes, received by a real webhook on 127.0.0.1."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from dc43.alerts import WebhookNotifier
from dc43.errors import InvalidArgumentError
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

from tests.http_receiver import Receiver
from tests.spark.orders import BATCHES, SCHEMA, apart, stop_all

pytestmark = pytest.mark.spark
#: the tests that also run on Spark Connect and the standalone cluster (docs/testing.md: one per
#: behaviour whose code path differs there; the variants of a behaviour run on classic Spark)
REMOTE = (pytest.mark.connect, pytest.mark.cluster)

CLEAN, BAD = BATCHES[0], BATCHES[1]
TOKEN = "Bearer s3cr3t-webhook-token"


@pytest.fixture
def webhook():
    server = Receiver()
    yield server
    server.close()


def stream(spark, parquet_batches, services, batches) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet",
                                      path=parquet_batches(SCHEMA, apart(batches)), options={"maxFilesPerTrigger": "1"},
                                      **services)
    return df


def write(df, tmp_path, services, **kwargs) -> Any:
    result = write_stream_with_contract(
        df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "sink"), enforce=False,
        options={"checkpointLocation": str(tmp_path / "cp")}, **services, **kwargs)
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
    finally:
        stop_all(result)  # the end of the write sends what the interval held, and waits for it
    return result


@REMOTE[0]
@REMOTE[1]
def test_the_webhook_gets_exactly_one_alert_per_status_change(spark, parquet_batches, services, tmp_path, webhook):
    df = stream(spark, parquet_batches, services, [CLEAN, BAD, BAD, CLEAN, CLEAN])
    notifier = WebhookNotifier(webhook.url, headers={"Authorization": TOKEN})
    result = write(df, tmp_path, services, notifiers=[notifier])

    said = [(a["previous"], a["status"], a["batch_id"]) for a in webhook.events]
    assert said == [("ok", "block", 1), ("block", "ok", 3)]
    blocked = webhook.events[0]
    assert blocked["dataset_id"] == str(tmp_path / "sink") and blocked["contract"] == "sales.orders@1.0.0"
    assert "not_null:customer" in blocked["reason"] and blocked["folded"] == 0
    assert {h["Authorization"] for h in webhook.headers} == {TOKEN}
    assert result.details["alerts"]["sent"] == 2 and result.details["alerts"]["failed"] == 0
    assert [a["status"] for a in result.details["alerts"]["recent"]] == ["block", "ok"]
    assert "s3cr3t" not in repr(notifier) + repr(result.details)
    kept = services["governance_service"].alerts(str(tmp_path / "sink"))  # for dc43 report
    assert [(a["status"], a["batch_id"], a["delivered"]) for a in kept] == [
        ("block", 1, {"webhook": True}), ("ok", 3, {"webhook": True})]


def test_an_interval_folds_flapping_into_one_alert(spark, parquet_batches, services, tmp_path, webhook):
    df = stream(spark, parquet_batches, services, [CLEAN, BAD, CLEAN, BAD])
    write(df, tmp_path, services, notifiers=[WebhookNotifier(webhook.url)], alert_interval_s=3600)
    # ok -> block goes out; block -> ok -> block inside the hour comes back to block: nothing more to say
    assert [(a["previous"], a["status"], a["batch_id"]) for a in webhook.events] == [("ok", "block", 1)]


def test_a_change_held_by_the_interval_goes_out_when_the_write_ends(spark, parquet_batches, services, tmp_path,
                                                                     webhook):
    df = stream(spark, parquet_batches, services, [BAD, CLEAN, BAD, CLEAN])
    write(df, tmp_path, services, notifiers=[WebhookNotifier(webhook.url)], alert_interval_s=3600)
    said = [(a["previous"], a["status"], a["batch_id"], a["folded"]) for a in webhook.events]
    assert said == [("ok", "block", 0, 0), ("block", "ok", 3, 2)]  # ok at 1, block at 2, ok at 3: 2 folded


def test_a_failing_webhook_never_fails_the_stream_and_is_counted(spark, parquet_batches, services, tmp_path, caplog):
    down = Receiver(status=500)
    try:
        df = stream(spark, parquet_batches, services, [CLEAN, BAD, CLEAN])
        with caplog.at_level(logging.WARNING, logger="dc43.alerts"):
            result = write(df, tmp_path, services, notifiers=[WebhookNotifier(down.url), "log"])
    finally:
        down.close()
    assert sorted(r.order_id for r in spark.read.parquet(str(tmp_path / "sink")).collect()) == [1, 2, 103, 104, 105, 201, 202]
    assert result.details["alerts"]["failed"] == 2 and result.details["alerts"]["sent"] == 2  # the log notifier's
    assert "HTTP Error 500" in result.details["alerts"]["last_error"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("notifier 'webhook' could not send" in m for m in messages)
    assert any("dc43 alert:" in m and "went from ok to block at batch 1" in m for m in messages)


@REMOTE[0]
@REMOTE[1]
def test_an_unknown_notifier_is_refused_before_any_query_starts(spark, parquet_batches, services, tmp_path):
    df = stream(spark, parquet_batches, services, [CLEAN])
    with pytest.raises(InvalidArgumentError, match="unknown notifier 'webhok'.*did you mean 'webhook'"):
        write_stream_with_contract(df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "s"),
                                   options={"checkpointLocation": str(tmp_path / "cp")}, notifiers=["webhok"],
                                   **services)
    assert spark.streams.active == []
    with pytest.raises(InvalidArgumentError, match="alert_interval_s"):
        write_stream_with_contract(df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "s"),
                                   options={"checkpointLocation": str(tmp_path / "cp")}, notifiers=["log"],
                                   alert_interval_s=-1, **services)
