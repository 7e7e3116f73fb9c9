"""Load: eight streams in two processes, each process behind its own ``dc43 serve``, both services on
one PostgreSQL: every micro-batch's verdict is kept exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dc43.plugins import reset_plugin_manager
from dc43_http.clients import RemoteContractServiceClient, RemoteGovernanceServiceClient

from tests.parquet_files import write_parquet
from tests.service.conftest import fresh_database
from tests.service.test_service_secrets import database_text
from tests.service_process import ServeProcess
from tests.spark.orders import SCHEMA, orders_contract
from tests.spark.test_load import BATCHES, ROWS, finish, start

pytestmark = [pytest.mark.service, pytest.mark.spark, pytest.mark.e2e]

STREAMS = 4  # per process
CHILD = f"""
import sys
from pyspark.sql import SparkSession
from tests.spark.test_load import start, finish

spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
         .config("spark.sql.shuffle.partitions", "2").getOrCreate())
results = [start(spark, sys.argv[1], f"{{sys.argv[2]}}-{{n}}", {{}}) for n in range({STREAMS})]
print("ERRORS", finish(results), flush=True)
spark.stop()
"""


def test_eight_streams_in_two_processes_behind_two_services_keep_every_verdict_once(
        spark, postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = fresh_database(postgres)
    first = ServeProcess(url, tmp_path / "service-a").start()
    second = ServeProcess(url, tmp_path / "service-b", token=first.token).start()
    RemoteContractServiceClient(base_url=first.url, token=first.token).put(orders_contract())
    monkeypatch.setenv("DC43_SERVICE_URL", first.url)
    monkeypatch.setenv("DC43_SERVICE_TOKEN", first.token)
    reset_plugin_manager()
    source = tmp_path / "source"
    source.mkdir()
    for batch in range(BATCHES):  # one file per micro-batch, every row valid
        write_parquet(spark, SCHEMA, [(batch * ROWS + r, "ann", 1.0, "EUR") for r in range(ROWS)],
                      source / f"batch-{batch:03d}.parquet")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    env.update(SPARK_LOCAL_IP="127.0.0.1", DC43_STATE_DIR=str(tmp_path / ".dc43-child"), DC43_SERVICE_URL=second.url,
               DC43_SERVICE_TOKEN=second.token,
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]))
    other = subprocess.Popen([sys.executable, "-c", CHILD, str(source), str(tmp_path / "child")],
                             cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        mine = finish([start(spark, str(source), str(tmp_path / f"parent-{n}"), {}) for n in range(STREAMS)])
        out, err = other.communicate(timeout=600)
    finally:
        if other.poll() is None:
            other.kill()
        first.stop()
        second.stop()
    assert other.returncode == 0, err[-3000:]
    assert mine == [] and "ERRORS []" in out
    outputs = [str(tmp_path / f"parent-{n}") for n in range(STREAMS)] + [str(tmp_path / f"child-{n}")
                                                                          for n in range(STREAMS)]
    reader = ServeProcess(url, tmp_path / "service-c", token=first.token).start()
    try:
        governance = RemoteGovernanceServiceClient(base_url=reader.url, token=reader.token)
        assert [[v.batch_id for v in governance.verdicts(out)] for out in outputs] == [list(range(BATCHES))] * 8
        assert {v.status for out in outputs for v in governance.verdicts(out)} == {"ok"}
        assert [[o.operation for o in governance.observations(out)] for out in outputs] == [["write_stream"]] * 8
        assert [o.operation for o in governance.observations(str(source))] == ["read_stream"] * 8
    finally:
        reader.stop()
    for served in (first, second):  # every call was answered: no 5xx, no refused request
        assert " 500 " not in served.log() and " 422 " not in served.log() and " 401 " not in served.log()
    assert database_text(postgres, url).count("write_stream") == 8
