"""Test isolation, and the Spark topology this pytest process runs on.

``pytest`` runs every layer on classic Spark (local[2]).  ``pytest --topology=connect`` and
``pytest --topology=cluster`` run, each in its own process, only the tests marked
``connect`` or ``cluster``: the same tests, against a Spark Connect server or a standalone
cluster started by the session (a process cannot hold a classic and a Connect session).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from dc43.plugins import reset_plugin_manager

from tests.jvm import JVM_OPTIONS, archive_options, class_archive, long_lived_driver, use_in_spark_drivers
from tests.kafka_support import ensure_jars, spark_jars
from tests.topologies import BUNDLED_PLUGINS, SPARK_SETTINGS, TOPOLOGIES, ConnectServer, StandaloneCluster

# Spark's driver must listen on loopback only; executors and foreachBatch workers use this Python.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
use_in_spark_drivers()
ARCHIVE = pytest.StashKey[Path | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--topology", choices=TOPOLOGIES, default="classic",
                     help="where Spark runs: classic local[2] (every test), a Spark Connect server or a "
                          "standalone cluster (only the tests marked connect or cluster)")


def pytest_report_header(config: pytest.Config) -> str:
    return f"dc43 topology: {config.getoption('--topology')}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    topology = config.getoption("--topology")
    if topology == "classic":
        return
    kept = [item for item in items
            if item.get_closest_marker(topology) and not item.get_closest_marker("classic_only")]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    """Spark drivers started from here on map the class archive, made now if this machine has none
    (only when a collected test runs Spark in a driver: the Connect layer's tests start none)."""
    if session.config.getoption("--topology") != "connect" and any(
            item.get_closest_marker("spark") for item in session.items):
        session.config.stash[ARCHIVE] = archive = class_archive()
        use_in_spark_drivers(archive)


@pytest.fixture(scope="session")
def topology(request: pytest.FixtureRequest) -> str:
    """``classic``, ``connect`` or ``cluster``: what the ``spark`` fixture runs on."""
    return request.config.getoption("--topology")


@pytest.fixture(autouse=True)
def only_bundled_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Keep whatever else is installed on the machine out of the tests, and keep the
    embedded default's files (contracts, governance database) in the test's folder; send
    OpenLineage events only where a test configures a transport."""
    monkeypatch.setenv("DC43_LOAD_PLUGINS", BUNDLED_PLUGINS)
    monkeypatch.setenv("DC43_CONTRACTS_DIR", str(tmp_path / "contracts"))
    monkeypatch.setenv("DC43_STATE_DIR", str(tmp_path / ".dc43"))
    monkeypatch.delenv("DC43_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("DC43_STRICT_PLUGINS", raising=False)
    for name in ("DC43_SERVICE_URL", "DC43_SERVICE_TOKEN", "DC43_DATABASE_URL"):  # a shared service only where asked
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("OPENLINEAGE")]:  # lineage only where a test asks
        monkeypatch.delenv(name)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture(scope="session")
def spark_remote(topology: str):
    """The Spark Connect server's ``sc://`` address (Connect layer only)."""
    if topology != "connect":
        pytest.skip("needs --topology=connect")
    ensure_jars()
    server = ConnectServer(spark_jars()).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark(topology: str, request: pytest.FixtureRequest):
    """One SparkSession for the whole session, on this process's topology, with Spark's
    Kafka connector and Delta Lake on its classpath."""
    from pyspark.sql import SparkSession

    if topology == "connect":
        session = SparkSession.builder.remote(request.getfixturevalue("spark_remote")).getOrCreate()
        yield session
        session.stop()
        return
    ensure_jars()
    archive = request.config.stash.get(ARCHIVE, None)
    cluster = StandaloneCluster(JVM_OPTIONS + archive_options(archive)).start() if topology == "cluster" else None
    builder = (SparkSession.builder.master(cluster.url if cluster else "local[2]").appName("dc43-tests")
               .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="dc43-warehouse-")))
    for key, value in SPARK_SETTINGS.items():
        builder = builder.config(key, value)
    if cluster:
        builder = builder.config("spark.executor.memory", "1g").config("spark.cores.max", "2")
        if archive:
            builder = builder.config("spark.executor.extraJavaOptions", archive_options(archive).strip())
    with long_lived_driver(archive):
        session = builder.config("spark.jars", ",".join(spark_jars())).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        if cluster:
            cluster.stop()
