"""OpenLineage events of real writes, received by a real HTTP server on 127.0.0.1.

A 3-batch stream whose middle batch breaks two rules is one run: START, a RUNNING event per
judged micro-batch, then COMPLETE (or FAIL when the bad batch stops the write).  Every event
is checked against the client's generated model (tests/lineage.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import dc43_openlineage
import pytest
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract, write_with_contract

from tests.http_receiver import Receiver
from tests.kafka_support import free_port
from tests.lineage import conforms
from tests.spark.orders import BATCHES, SCHEMA, stop_all

pytestmark = pytest.mark.spark
#: the tests that also run on Spark Connect and the standalone cluster (docs/testing.md: one per
#: behaviour whose code path differs there; the variants of a behaviour run on classic Spark)
REMOTE = (pytest.mark.connect, pytest.mark.cluster)

# batch 0 clean; batch 1: a null customer and two negative amounts; batch 2 clean
THREE = [BATCHES[0], BATCHES[1], BATCHES[3]]
SECRET = "hunter2-not-for-lineage"


@pytest.fixture
def receiver(monkeypatch):
    server = Receiver()
    monkeypatch.setenv("OPENLINEAGE_URL", server.url)
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "dc43-tests")
    yield server
    server.close()


def sent(receiver: Receiver) -> list[dict[str, Any]]:
    """What the receiver got once every event handed over so far left (waiting on a write's queries
    hands over its end event before the wait returns)."""
    assert dc43_openlineage.flush(30)
    return list(receiver.events)


def orders_stream(spark, parquet_batches, services) -> tuple[Any, str]:
    path = parquet_batches(SCHEMA, THREE)
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=path,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return df, path


def write(df, tmp_path: Path, services, writer: str, **kwargs) -> Any:
    result = write_stream_with_contract(
        df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "sink"),
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer=writer,
        pipeline_context={"job": "orders-loader", "password": SECRET}, **services, **kwargs)
    try:
        for query in result.details["streaming_queries"]:  # the sink, then the query judging it
            query.processAllAvailable()
    finally:
        stop_all(result)
    return result


def output_facets(event: dict[str, Any]) -> dict[str, Any]:
    (output,) = event["outputs"]
    return output["facets"]


def tags(event: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in event["run"]["facets"]["tags"]["tags"]}


@pytest.mark.parametrize("writer", [pytest.param("foreach-batch", marks=REMOTE), pytest.param("observe", marks=REMOTE), "inline"])
def test_a_stream_is_one_run_with_a_running_event_per_batch_and_the_failing_rules_named(
        spark, parquet_batches, services, tmp_path, receiver, writer):
    df, source = orders_stream(spark, parquet_batches, services)
    result = write(df, tmp_path, services, writer, enforce=False)
    events = sent(receiver)

    assert [e["eventType"] for e in events] == ["START", "RUNNING", "RUNNING", "RUNNING", "COMPLETE"]
    for e in events:
        conforms(e)
    assert {e["run"]["runId"] for e in events} == {result.details["openlineage"]["run_id"]}
    assert {(e["job"]["namespace"], e["job"]["name"]) for e in events} == {("dc43-tests", "orders-loader")}
    assert events[0]["job"]["facets"]["jobType"]["processingType"] == "STREAMING"
    for e in events:
        assert [(i["namespace"], i["name"]) for i in e["inputs"]] == [("file", source)]
        assert [(o["namespace"], o["name"]) for o in e["outputs"]] == [("file", str(tmp_path / "sink"))]
        fields = output_facets(e)["schema"]["fields"]
        assert [(f["name"], f["type"]) for f in fields] == [
            ("order_id", "bigint"), ("customer", "string"), ("amount", "double"), ("currency", "string")]

    running = events[1:4]
    assert [tags(e)["dc43.batch_id"] for e in running] == ["0", "1", "2"]
    # observe measures no uniqueness (Spark's observe() has no exact distinct count): its clean batches
    # are "unknown", and it reports no distinct count
    clean = "unknown" if writer == "observe" else "ok"
    assert [tags(e)["dc43.status"] for e in running] == [clean, "block", clean]
    assert [e["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] for e in running] == [2, 3, 1]
    bad = output_facets(running[1])
    assert bad["dataQualityMetrics"]["rowCount"] == 3
    assert bad["dataQualityMetrics"]["columnMetrics"]["customer"] == {"nullCount": 1}
    # order_id: required (no nulls) and unique (no duplicates): all 3 values distinct
    assert bad["dataQualityMetrics"]["columnMetrics"]["order_id"] == (
        {"nullCount": 0} if writer == "observe" else {"nullCount": 0, "distinctCount": 3})
    failed = {a["assertion"]: a for a in bad["dataQualityAssertions"]["assertions"] if not a["success"]}
    assert set(failed) == {"ge:amount", "not_null:customer"}
    assert failed["ge:amount"]["column"] == "amount" and failed["ge:amount"]["actual"] == "2"
    assert all(a["success"] for a in output_facets(running[0])["dataQualityAssertions"]["assertions"])
    assert ("unique:order_id" in {a["assertion"] for a in bad["dataQualityAssertions"]["assertions"]}) == (
        writer != "observe")  # a rule not evaluated is no assertion

    assert result.details["openlineage"]["sent"] == 5 and result.details["openlineage"]["failed"] == 0
    assert SECRET not in json.dumps(events)
    assert "errorMessage" not in events[-1]["run"]["facets"]


def test_a_batch_that_stops_the_write_ends_the_run_with_fail_naming_the_rules(
        spark, parquet_batches, services, tmp_path, receiver):
    df, _ = orders_stream(spark, parquet_batches, services)
    with pytest.raises(Exception, match="ge:amount"):
        write(df, tmp_path, services, "foreach-batch", enforce=True)
    events = sent(receiver)
    assert [e["eventType"] for e in events] == ["START", "RUNNING", "RUNNING", "FAIL"]
    for e in events:
        conforms(e)
    message = events[-1]["run"]["facets"]["errorMessage"]["message"]
    assert "ge:amount" in message and "not_null:customer" in message
    assert events[-1]["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python"


@REMOTE[0]
@REMOTE[1]
def test_a_receiver_that_is_down_leaves_the_stream_running_and_is_reported(
        spark, parquet_batches, services, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY", '{"total": 1, "connect": 1, "backoff_factor": 0}')
    df, _ = orders_stream(spark, parquet_batches, services)
    with caplog.at_level(logging.WARNING, logger="dc43_openlineage"):
        result = write(df, tmp_path, services, "foreach-batch", enforce=False)
        assert sorted(r.order_id for r in spark.read.parquet(str(tmp_path / "sink")).collect()) == [1, 2, 3, 4, 5, 7]
        assert dc43_openlineage.flush(60)
    said = result.details["openlineage"]
    assert said["failed"] == 5 and said["sent"] == 0  # START, 3 x RUNNING, COMPLETE
    assert "Connection" in said["last_error"]
    assert [r for r in caplog.records if "could not take the START event" in r.getMessage()]


def test_nothing_is_sent_or_printed_when_openlineage_is_not_configured(
        spark, parquet_batches, services, tmp_path, capfd):
    df, _ = orders_stream(spark, parquet_batches, services)
    result = write(df, tmp_path, services, "foreach-batch", enforce=False)
    assert "openlineage" not in result.details
    assert '"eventType"' not in capfd.readouterr().out  # the client's console fallback stays off


@REMOTE[0]
@REMOTE[1]
def test_openlineage_disabled_sends_nothing_even_with_a_url(spark, tmp_path, services, receiver, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    df = spark.createDataFrame(BATCHES[0], SCHEMA)
    result = write_with_contract(df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "out"),
                                 **services)
    assert "openlineage" not in result.details and receiver.events == []


@REMOTE[0]
@REMOTE[1]
def test_a_batch_write_is_one_run_and_a_blocked_one_fails_with_its_assertions(spark, tmp_path, services, receiver):
    good = spark.createDataFrame(BATCHES[0], SCHEMA)
    write_with_contract(df=good, contract_id="sales.orders", format="parquet", path=str(tmp_path / "out"),
                        **services)
    bad = spark.createDataFrame(BATCHES[1], SCHEMA)
    with pytest.raises(Exception, match="nothing was written"):
        write_with_contract(df=bad, contract_id="sales.orders", format="parquet", path=str(tmp_path / "out"),
                            **services)
    assert dc43_openlineage.flush(30)
    events = receiver.events
    assert [e["eventType"] for e in events] == ["START", "COMPLETE", "START", "FAIL"]
    for e in events:
        conforms(e)
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"] != events[2]["run"]["runId"]
    assert events[1]["job"]["facets"]["jobType"]["processingType"] == "BATCH"
    assert events[1]["job"]["name"] == "sales.orders.write" or events[1]["job"]["name"].endswith(".write")
    assert output_facets(events[1])["dataQualityMetrics"]["rowCount"] == 2
    failed = [a["assertion"] for a in output_facets(events[3])["dataQualityAssertions"]["assertions"]
              if not a["success"]]
    assert sorted(failed) == ["ge:amount", "not_null:customer"]
    assert "nothing was written" in events[3]["run"]["facets"]["errorMessage"]["message"]


@REMOTE[0]
@REMOTE[1]
def test_a_file_transport_from_openlineage_config_gets_the_events(spark, tmp_path, services, monkeypatch):
    config = tmp_path / "openlineage.yml"
    config.write_text(f"transport:\n  type: file\n  log_file_path: {tmp_path / 'lineage.jsonl'}\n  append: true\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    df = spark.createDataFrame(BATCHES[0], SCHEMA)
    write_with_contract(df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "out"), **services)
    assert dc43_openlineage.flush(30)
    events = [json.loads(line) for line in (tmp_path / "lineage.jsonl").read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]


@REMOTE[0]
@REMOTE[1]
def test_an_explicitly_configured_console_transport_logs_the_events(spark, tmp_path, services, monkeypatch, caplog):
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")
    df = spark.createDataFrame(BATCHES[0], SCHEMA)
    with caplog.at_level(logging.INFO, logger="openlineage.client.transport.console"):
        write_with_contract(df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "out"),
                            **services)
        assert dc43_openlineage.flush(30)
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "openlineage.client.transport.console"]
    assert [e["eventType"] for e in logged] == ["START", "COMPLETE"]


@REMOTE[0]
@REMOTE[1]
def test_a_table_is_named_by_its_location_with_its_name_as_a_symlink(spark, tmp_path, services, receiver):
    table = f"lineage_{tmp_path.name.replace('-', '_')[-20:]}"
    df = spark.createDataFrame(BATCHES[0], SCHEMA)
    write_with_contract(df=df, contract_id="sales.orders", format="delta", table=table, **services)
    assert dc43_openlineage.flush(30)
    (output,) = receiver.events[-1]["outputs"]
    location = spark.sql(f"DESCRIBE DETAIL {table}").collect()[0].location
    assert (output["namespace"], output["name"]) == ("file", location.removeprefix("file:"))
    assert output["facets"]["symlinks"]["identifiers"] == [
        {"namespace": "file", "name": f"spark_catalog.default.{table}", "type": "TABLE"}]


@REMOTE[0]
@REMOTE[1]
def test_every_source_of_a_stream_is_an_input_and_no_credential_is_kept(spark, parquet_batches):
    from dc43.spark.sources import input_datasets

    source = parquet_batches(SCHEMA, THREE)
    files = spark.readStream.schema(SCHEMA).parquet(source)
    rate = spark.readStream.format("rate").load().selectExpr("value AS order_id")
    kafka = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", "127.0.0.1:9092,127.0.0.1:9093")
             .option("subscribe", "orders,refunds").option("kafka.sasl.jaas.config", f"password='{SECRET}'").load()
             .selectExpr("CAST(partition AS BIGINT) AS order_id"))
    found = input_datasets(files.select("order_id").union(rate).union(kafka))
    assert [(r.format, r.path, r.options) for r in found] == [
        ("parquet", source, {}),
        ("rate", None, {}),
        ("kafka", None, {"kafka.bootstrap.servers": "127.0.0.1:9092,127.0.0.1:9093", "subscribe": "orders,refunds"}),
    ]
    assert SECRET not in repr(found)


@REMOTE[0]
@REMOTE[1]
def test_a_rejection_sink_is_a_second_output(spark, tmp_path, services, receiver):
    df = spark.createDataFrame(BATCHES[1], SCHEMA)
    write_with_contract(df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "out"),
                        violation_strategy="split", rejection_sink={"format": "parquet", "path": str(tmp_path / "bad")},
                        **services)
    events = sent(receiver)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    main, rejected = events[-1]["outputs"]
    assert (main["name"], rejected["name"]) == (str(tmp_path / "out"), str(tmp_path / "bad"))
    assert "dataQualityAssertions" in main["facets"] and not rejected.get("facets")
