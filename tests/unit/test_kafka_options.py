"""The Kafka plugin's option handling: topics, bootstrap servers, dead letters, secrets (no Spark)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dc43.errors import Dc43Error
from dc43.formats import DatasetTarget
from dc43.redaction import is_secret_key as is_secret
from dc43_kafka.keys import primary_key
from dc43_kafka.options import read_settings, write_settings
from open_data_contract_standard.model import OpenDataContractStandard, Server

JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required username='u' password='hunter2';"
BROKER = {"kafka.bootstrap.servers": "127.0.0.1:9092"}


def target(options=None, *, path=None, table=None, server=None) -> DatasetTarget:
    return DatasetTarget(format="kafka", dataset_id="orders", dataset_version="1", path=path, table=table,
                         options=dict(options or {}), server=server)


def test_the_topic_comes_from_options_then_table_then_path_then_the_server_dataset():
    server = Server(server="prod", type="kafka", host="broker:9092", dataset="from-server")
    assert read_settings(target(BROKER | {"topic": "opt"}, table="tbl"), streaming=True).topic == "opt"
    assert read_settings(target(BROKER, table="tbl", path="pth"), streaming=True).topic == "tbl"
    assert read_settings(target(BROKER, path="pth", server=server), streaming=True).topic == "pth"
    settings = read_settings(target(server=server), streaming=True)
    assert settings.topic == "from-server"
    assert settings.spark_options == {"kafka.bootstrap.servers": "broker:9092", "subscribe": "from-server"}
    assert write_settings(target(server=server)).spark_options == {
        "kafka.bootstrap.servers": "broker:9092", "topic": "from-server"}


def test_spark_subscriptions_pass_through_and_conflict_with_topic():
    settings = read_settings(target(BROKER | {"subscribePattern": "orders-.*"}, table="x"), streaming=True)
    assert settings.spark_options["subscribePattern"] == "orders-.*"
    assert "subscribe" not in settings.spark_options
    with pytest.raises(Dc43Error, match="'topic' and 'subscribe' both choose"):
        read_settings(target(BROKER | {"subscribe": "a", "topic": "b"}), streaming=True)


def test_bootstrap_servers_come_from_options_or_the_kafka_server():
    server = Server(server="prod", type="kafka", host="broker", port=9093)
    assert read_settings(target(table="t", server=server), streaming=True).spark_options[
        "kafka.bootstrap.servers"] == "broker:9093"
    assert read_settings(target(BROKER, table="t", server=server), streaming=True).spark_options[
        "kafka.bootstrap.servers"] == "127.0.0.1:9092"
    other = Server(server="lake", type="s3", host="s3.example")
    with pytest.raises(Dc43Error, match="needs bootstrap servers"):
        read_settings(target(table="t", server=other), streaming=True)
    with pytest.raises(Dc43Error, match="needs a topic to write"):
        write_settings(target(BROKER))


def test_user_options_pass_through_and_dc43_options_do_not():
    options = BROKER | {"startingOffsets": "earliest", "failOnDataLoss": "false",
                        "kafka.security.protocol": "SASL_SSL", "kafka.sasl.jaas.config": JAAS,
                        "dc43.metadata": "TRUE"}
    settings = read_settings(target(options, table="orders"), streaming=True)
    assert settings.metadata is True
    assert settings.spark_options == {k: v for k, v in options.items() if k != "dc43.metadata"} | {
        "subscribe": "orders"}
    with pytest.raises(Dc43Error, match="unknown option.*dc43.deadletter.topic.*dc43.deadLetter.topic"):
        read_settings(target(BROKER | {"dc43.deadletter.topic": "x"}, table="t"), streaming=True)
    with pytest.raises(Dc43Error, match="must be 'true' or 'false'"):
        read_settings(target(BROKER | {"dc43.metadata": "yes"}, table="t"), streaming=True)
    with pytest.raises(Dc43Error, match="apply to reads only"):
        write_settings(target(BROKER | {"dc43.metadata": "true"}, table="t"))


def test_dead_letters_to_kafka_inherit_the_connection_options_only():
    options = BROKER | {"kafka.sasl.jaas.config": JAAS, "kafka.group.id": "g", "startingOffsets": "earliest",
                        "dc43.deadLetter.topic": "orders-dlq", "dc43.deadLetter.checkpointLocation": "/chk/dlq"}
    sink = read_settings(target(options, table="orders"), streaming=True).dead_letter
    assert (sink.format, sink.path, sink.checkpoint) == ("kafka", None, "/chk/dlq")
    assert sink.options == {"checkpointLocation": "/chk/dlq", "kafka.bootstrap.servers": "127.0.0.1:9092",
                            "kafka.sasl.jaas.config": JAAS, "topic": "orders-dlq"}
    files = read_settings(target(BROKER | {"dc43.deadLetter.format": "parquet", "dc43.deadLetter.path": "/dlq"},
                                 table="o"), streaming=True).dead_letter
    assert (files.format, files.path, files.options) == ("parquet", "/dlq", {})
    with pytest.raises(Dc43Error, match="'dc43.deadLetter.topic' is missing"):
        read_settings(target(BROKER | {"dc43.deadLetter.checkpointLocation": "/c"}, table="o"), streaming=True)
    with pytest.raises(Dc43Error, match="streaming reads only"):
        read_settings(target(BROKER | {"dc43.deadLetter.topic": "d"}, table="o"), streaming=False)


def test_secret_values_never_show_in_reprs_or_errors():
    assert all(is_secret(k) for k in ("kafka.sasl.jaas.config", "kafka.ssl.keystore.password",
                                      "kafka.ssl.key.password", "kafka.sasl.oauthbearer.token.endpoint.url",
                                      "kafka.ssl.keystore.key", "client.secret"))
    assert not any(is_secret(k) for k in ("kafka.bootstrap.servers", "kafka.sasl.mechanism", "subscribe"))
    options = BROKER | {"kafka.sasl.jaas.config": JAAS, "kafka.ssl.key.password": "hunter2",
                        "dc43.deadLetter.topic": "dlq", "dc43.deadLetter.checkpointLocation": "/c"}
    settings = read_settings(target(options, table="orders"), streaming=True)
    assert "hunter2" not in repr(settings)
    assert "'kafka.sasl.jaas.config': '***'" in repr(settings.dead_letter)
    with pytest.raises(Dc43Error) as caught:
        read_settings(target(options | {"dc43.metadata": JAAS}, table="orders"), streaming=True)
    assert "hunter2" not in str(caught.value)


def test_primary_key_order_follows_positions_then_declaration():
    contract = OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "x", "version": "1", "status": "active",
        "schema": [{"name": "t", "properties": [
            {"name": "c", "primaryKey": True}, {"name": "b", "primaryKey": True, "primaryKeyPosition": 2},
            {"name": "n"}, {"name": "a", "primaryKey": True, "primaryKeyPosition": 1}]}],
    })
    assert primary_key(contract) == ["a", "b", "c"]


def test_the_plugin_imports_no_pyspark():
    code = "import sys, dc43_kafka; print('pyspark' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout.strip()) == (0, "False"), run.stderr
