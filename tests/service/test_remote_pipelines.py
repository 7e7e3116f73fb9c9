"""The specification's example, unchanged, pointed at a shared ``dc43 serve`` by two environment
variables only, on classic Spark, Spark Connect and the standalone cluster: its verdicts are read
back with ``dc43 verdicts`` from another folder, and the job leaves no governance state behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dc43_http.clients import RemoteGovernanceServiceClient

from tests.e2e.test_spec_example import CLASSIC_BUILDER, EXAMPLE
from tests.kafka_support import ensure_jars, spark_jars
from tests.service.conftest import fresh_database
from tests.service_process import ServeProcess
from tests.topologies import ConnectServer, StandaloneCluster

pytestmark = [pytest.mark.service, pytest.mark.e2e, pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]
RUNNER = """
import json, runpy, sys, time
from pyspark.sql.connect.streaming.query import StreamingQuery as ConnectQuery
from pyspark.sql.streaming.query import StreamingQuery

def after_rows(process_all_available):
    def waiting(query):  # as a user watching the stream: until its first rows came in, then on
        deadline = time.monotonic() + 120
        while not any(p.numInputRows for p in query.recentProgress) and time.monotonic() < deadline:
            time.sleep(0.2)
        return process_all_available(query)
    return waiting

for cls in (StreamingQuery, ConnectQuery):
    cls.processAllAvailable = after_rows(cls.processAllAvailable)
scope = runpy.run_path(sys.argv[1], run_name="__main__")
print("BATCHES", json.dumps(scope["write_result"].details.get("streaming_batches", [])))
"""


@pytest.fixture
def shared(postgres, tmp_path: Path):
    process = ServeProcess(fresh_database(postgres), tmp_path / "service").start()
    try:
        yield process
    finally:
        process.stop()


def _environment(service: ServeProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    return {**env, "SPARK_LOCAL_IP": "127.0.0.1", "DC43_SERVICE_URL": service.url, "DC43_SERVICE_TOKEN": service.token}


@pytest.fixture
def example_spark(topology: str) -> Iterator[str | None]:
    """Where the example's session goes on the Connect and cluster layers: a server or cluster of its
    own, started cold as a user's would be (the session's warm ones judge the rate source's first,
    empty batch before a second of rows exists, and the cluster's cores are taken)."""
    if topology == "classic":
        yield None
        return
    ensure_jars()
    started = ConnectServer(spark_jars()).start() if topology == "connect" else StandaloneCluster().start()
    try:
        yield started.url
    finally:
        started.stop()


def _example(job: Path, spark_url: str | None) -> Path:
    """The example as committed; on Connect and the cluster with only its session builder changed."""
    if spark_url is None:
        return EXAMPLE
    builder = (f'SparkSession.builder.remote("{spark_url}")' if spark_url.startswith("sc://")
               else f'SparkSession.builder.master("{spark_url}")')
    text, changed = CLASSIC_BUILDER.subn(f"spark = {builder}.getOrCreate()\n", EXAMPLE.read_text())
    assert changed == 1, "the example's session builder was not found"
    edited = job / "spec_streaming_example_edited.py"
    edited.write_text(text)
    return edited


def _run_example(example: Path, job: Path, service: ServeProcess) -> dict[int, str]:
    """Run the example in ``job`` as a user would (no test JVM tuning); the status of each batch
    with rows its result reports. The rate source's first rows come a second after it starts and
    ``processAllAvailable`` returns at the first trigger that finds nothing new, so on a fast
    server the example could stop after its empty first batch: the runner lets it see rows first."""
    env = _environment(service)
    env.pop("SPARK_SUBMIT_OPTS", None)
    done = subprocess.run([sys.executable, "-c", RUNNER, str(example)], cwd=job, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert service.token not in done.stdout + done.stderr
    batches = json.loads(re.search(r"BATCHES (.*)", done.stdout).group(1))
    return {b["batch_id"]: b["status"] for b in batches if b["status"] != "idle"}


def test_the_spec_example_records_its_verdicts_in_the_shared_service(
        tmp_path: Path, shared: ServeProcess,
        example_spark: str | None) -> None:
    job, elsewhere = tmp_path / "job", tmp_path / "elsewhere"
    job.mkdir()
    elsewhere.mkdir()
    example = _example(job, example_spark)
    judged = _run_example(example, job, shared)
    assert judged, "the example judged no batch with rows"
    assert not list(job.rglob("governance.db")) and not list(job.rglob("outbox.db"))  # nothing kept on the job's machine

    shown = subprocess.run([sys.executable, "-m", "dc43.cli", "verdicts", "demo.rate_stream", "--json",
                            "--limit", "1000"], cwd=elsewhere, env=_environment(shared),
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert {row["batch_id"]: row["status"] for row in json.loads(shown.stdout)} == judged
    assert not (elsewhere / ".dc43").exists()
    governance = RemoteGovernanceServiceClient(base_url=shared.url, token=shared.token)
    assert [o.operation for o in governance.observations("demo.rate_stream")] == ["read_stream", "write_stream"]
    assert shared.token not in shared.log()
