"""Jars and a real Apache Kafka broker (KRaft mode) for the test session.

``tests/kafka/pom.xml`` names the jars; Maven copies each profile into its own folder
under ``${DC43_JARS_DIR:-<repo>/.cache/jars}``: ``broker/`` (the broker's classpath),
``connector/`` (Spark's Kafka connector) and ``delta/`` (Delta Lake), the last two for
``spark.jars``.  A folder that already holds jars is not fetched again.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.jvm import JVM_OPTIONS

REPO = Path(__file__).resolve().parents[1]
POM = REPO / "tests" / "kafka" / "pom.xml"
PROFILES = ("broker", "connector", "delta")
INSTALL_HINT = "install Maven and a JDK 17: apt-get install maven openjdk-17-jdk"
STARTUP_TIMEOUT = 90.0


def jars_dir() -> Path:
    """The cache folder holding ``broker/`` and ``connector/``."""
    return Path(os.environ.get("DC43_JARS_DIR") or REPO / ".cache" / "jars")


def _jars(profile: str) -> list[str]:
    return sorted(str(p) for p in (jars_dir() / profile).glob("*.jar"))


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"'{tool}' was not found on PATH; the Spark and Kafka tests need it for the Kafka "
                    f"jars and broker: {INSTALL_HINT}", pytrace=False)
    return found


def ensure_jars() -> None:
    """Fetch the broker and connector jars with Maven unless they are cached already."""
    _require("java")
    for profile in PROFILES:
        if _jars(profile):
            continue
        target = jars_dir() / profile
        jars_dir().mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{profile}-partial-", dir=jars_dir()))  # one per process
        run = subprocess.run(
            [_require("mvn"), "-q", "-B", "-f", str(POM), f"-P{profile}",
             "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={staging}"],
            capture_output=True, text=True, timeout=900,
        )
        if run.returncode != 0 or not list(staging.glob("*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            pytest.fail(f"Maven could not fetch the {profile} jars (exit {run.returncode}); "
                        f"check access to Maven Central:\n{(run.stdout + run.stderr)[-3000:]}",
                        pytrace=False)
        try:
            staging.rename(target)  # complete folders only: an interrupted fetch is retried
        except OSError:  # another process put its complete folder there first
            shutil.rmtree(staging, ignore_errors=True)


def connector_jars() -> list[str]:
    """Paths of Spark's Kafka connector and the few jars it adds to Spark's own."""
    return _jars("connector")


def spark_jars() -> list[str]:
    """Every jar the test sessions add to Spark's own: the Kafka connector and Delta Lake."""
    return [*_jars("connector"), *_jars("delta")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cluster_id() -> str:
    """A KRaft cluster id: a random UUID in Kafka's URL-safe base64 form."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


_LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


class KafkaBroker:
    """One KRaft broker+controller on loopback, its data in a temporary folder."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="dc43-kafka-"))
        self.port = free_port()
        self.controller_port = free_port()
        self.log = self.home / "broker.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _properties(self) -> Path:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        path = self.home / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        (self.home / "log4j2.properties").write_text(_LOG4J)
        return path

    def _java(self, *args: str) -> list[str]:
        classpath = os.path.join(jars_dir() / "broker", "*")
        return [_require("java"), "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", *JVM_OPTIONS.split(),
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                "-cp", classpath, *args]

    def start(self) -> KafkaBroker:
        """Format the storage, start the broker, wait until it answers metadata requests."""
        properties = self._properties()
        with self.log.open("ab") as out:
            fmt = subprocess.run(
                self._java("kafka.tools.StorageTool", "format", "-t", cluster_id(),
                           "-c", str(properties)),
                stdout=out, stderr=subprocess.STDOUT, timeout=120,
            )
            if fmt.returncode != 0:
                self._fail(f"formatting its storage failed (exit {fmt.returncode})")
            self.process = subprocess.Popen(self._java("kafka.Kafka", str(properties)),
                                            stdout=out, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                self._fail(f"the broker exited with code {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
                try:
                    admin.list_topics()
                    return
                finally:
                    admin.close()
            except (OSError, KafkaError):
                time.sleep(0.2)
        self._fail(f"the broker did not answer on {self.bootstrap} within {STARTUP_TIMEOUT:.0f}s")

    def _fail(self, problem: str) -> None:
        tail = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
        self.stop()
        pytest.fail(f"Kafka broker could not start: {problem}. Last lines of its log:\n{tail}",
                    pytrace=False)

    def stop(self) -> None:
        """Terminate the broker (kill it after 20 s) and delete its folder."""
        stop_process(self.process, timeout=20)
        self.process = None
        shutil.rmtree(self.home, ignore_errors=True)


def stop_process(process: subprocess.Popen[bytes] | None, *, timeout: float) -> None:
    """Terminate ``process`` if it still runs, and kill it when it outlives ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
