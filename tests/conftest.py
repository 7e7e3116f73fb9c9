"""Test isolation: only dc43's bundled plugins load unless a test asks for more."""

from __future__ import annotations

import os

import pytest
from dc43.plugins import reset_plugin_manager

from tests.kafka_support import connector_jars, ensure_jars

BUNDLED_PLUGINS = "filesystem,memory,rate,kafka"

# Spark's driver must listen on loopback only.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(autouse=True)
def only_bundled_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Keep whatever else is installed on the machine out of the tests, and keep the
    embedded default's files (contracts, governance database) in the test's folder."""
    monkeypatch.setenv("DC43_LOAD_PLUGINS", BUNDLED_PLUGINS)
    monkeypatch.setenv("DC43_CONTRACTS_DIR", str(tmp_path / "contracts"))
    monkeypatch.setenv("DC43_STATE_DIR", str(tmp_path / ".dc43"))
    monkeypatch.delenv("DC43_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("DC43_STRICT_PLUGINS", raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession (local[2], no UI) for every Spark test of the session, with
    Spark's Kafka connector on its classpath."""
    from pyspark.sql import SparkSession

    ensure_jars()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dc43-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.jars", ",".join(connector_jars()))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
