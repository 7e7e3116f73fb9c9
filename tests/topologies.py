"""The Spark topologies the suites run on, each started from the pyspark wheel on 127.0.0.1.

``classic``  a local[2] session in the test process (``spark.jars`` carries the Kafka connector).
``connect``  a real Spark Connect server in its own process (``SparkConnectServer`` through
             ``bin/spark-class``); the test process holds only a client session, no JVM.
``cluster``  a standalone master and one worker (``deploy.master.Master`` and
             ``deploy.worker.Worker``), the test process is the driver: executors run in
             their own JVMs and Python workers.
Every server runs in a temporary folder, writes its log there, and is stopped by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests.jvm import JVM_OPTIONS
from tests.kafka_support import REPO, free_port, stop_process

TOPOLOGIES = ("classic", "connect", "cluster")
STARTUP_TIMEOUT = 120.0
#: the plugins a server-side Python may load (the test process sets the same per test)
BUNDLED_PLUGINS = "filesystem,memory,rate,kafka,delta,openlineage,http"
#: settings every topology's Spark shares: small, deterministic, on loopback only
SPARK_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    # Delta Lake (its jars are on spark.jars or the server's classpath); one snapshot task per core
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.databricks.delta.snapshotPartitions": "2",
}


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def _spark_class(*args: str) -> list[str]:
    return [str(spark_home() / "bin" / "spark-class"), *args]


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DC43_", "SPARK_", "PYSPARK_"))}
    env.update(SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable, DC43_LOAD_PLUGINS=BUNDLED_PLUGINS,
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    env.update(extra)
    return env


class _Server:
    """A JVM started with ``bin/spark-class``, its output in ``<home>/<name>.log``."""

    def __init__(self, name: str, home: Path) -> None:
        self.name = name
        self.log = home / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(_spark_class(*args), env=dict(env), stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, timeout=30)
        self.process = None


def _wait(ready: object, servers: Sequence[_Server], what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        for server in servers:
            if not server.running():
                pytest.fail(f"{what}: the {server.name} exited (code {server.process.returncode if server.process else '?'}). "
                            f"Last lines of its log:\n{server.tail()}", pytrace=False)
        if ready():
            return
        time.sleep(0.25)
    pytest.fail(f"{what}: not ready within {STARTUP_TIMEOUT:.0f}s. Last lines of its log:\n{servers[-1].tail()}",
                pytrace=False)


class ConnectServer:
    """A Spark Connect server (local[2]) whose foreachBatch workers use this Python and this repo."""

    def __init__(self, jars: Sequence[str]) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="dc43-connect-"))
        self.port = free_port()
        self.jars = list(jars)
        self.server = _Server("connect-server", self.home)

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def start(self) -> ConnectServer:
        settings = {**SPARK_SETTINGS, "spark.master": "local[2]", "spark.app.name": "dc43-connect-tests",
                    "spark.connect.grpc.binding.address": "127.0.0.1",
                    "spark.connect.grpc.binding.port": str(self.port),
                    "spark.sql.warehouse.dir": str(self.home / "warehouse")}
        conf = self.home / "conf"
        conf.mkdir()
        # spark-class passes conf/java-opts to the JVM: SparkConnectServer reads spark.* from there.
        (conf / "java-opts").write_text(" ".join(f"-D{k}={v}" for k, v in settings.items()) + "\n")
        env = _environment(SPARK_CONF_DIR=str(conf), SPARK_DIST_CLASSPATH=os.pathsep.join(self.jars))
        self.server.start(["org.apache.spark.sql.connect.service.SparkConnectServer"], env)
        _wait(lambda: "Spark Connect server started" in self.server.tail(), [self.server],
              "the Spark Connect server")
        return self

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self.home, ignore_errors=True)


class StandaloneCluster:
    """A standalone master and one 2-core worker, both on 127.0.0.1, started with ``java_options``."""

    def __init__(self, java_options: str = JVM_OPTIONS) -> None:
        self.java_options = java_options
        self.home = Path(tempfile.mkdtemp(prefix="dc43-cluster-"))
        self.port, self.ui_port = free_port(), free_port()
        self.master = _Server("master", self.home)
        self.worker = _Server("worker", self.home)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _alive_workers(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2) as answer:
                state = json.load(answer)
        except OSError:
            return 0
        return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")

    def start(self) -> StandaloneCluster:
        env = _environment(SPARK_WORKER_DIR=str(self.home / "work"), SPARK_LOG_DIR=str(self.home),
                           SPARK_DAEMON_JAVA_OPTS=self.java_options)
        self.master.start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                           str(self.port), "--webui-port", str(self.ui_port)], env)
        self.worker.start(["org.apache.spark.deploy.worker.Worker", self.url, "--host", "127.0.0.1",
                           "--cores", "2", "--memory", "3g", "--work-dir", str(self.home / "work"),
                           "--webui-port", str(free_port())], env)
        _wait(lambda: self._alive_workers() >= 1, [self.master, self.worker], "the standalone cluster")
        return self

    def stop(self) -> None:
        self.worker.stop()
        self.master.stop()
        shutil.rmtree(self.home, ignore_errors=True)
