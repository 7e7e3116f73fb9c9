"""A script that exits while its write still streams: its OpenLineage run ends with ABORT, and
every event it emitted reached the transport before the interpreter was gone."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.e2e.children import run_child

pytestmark = [pytest.mark.e2e]

CHILD = """
import sys
from pyspark.sql import SparkSession
from dc43_integrations.spark.io import write_stream_with_contract
from tests.spark.orders import orders_services

spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1").getOrCreate())
folder = sys.argv[1]
stream = spark.readStream.format("rate").option("rowsPerSecond", "5").load().selectExpr(
    "value AS order_id", "'ann' AS customer", "1.0D AS amount", "'EUR' AS currency")
result = write_stream_with_contract(df=stream, contract_id="sales.orders", format="parquet", path=f"{folder}/sink",
                                    options={"checkpointLocation": f"{folder}/cp"}, **orders_services())
result.details["streaming_queries"][-1].processAllAvailable()
print("JUDGED", len(result.details["streaming_batches"]), flush=True)
"""


def test_exiting_while_the_stream_runs_ends_the_run_with_abort(tmp_path: Path) -> None:
    events_file = tmp_path / "lineage.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DC43_", "OPENLINEAGE"))}
    env.update(SPARK_LOCAL_IP="127.0.0.1", DC43_STATE_DIR=str(tmp_path / ".dc43"),
               OPENLINEAGE__TRANSPORT__TYPE="file", OPENLINEAGE__TRANSPORT__LOG_FILE_PATH=str(events_file),
               OPENLINEAGE__TRANSPORT__APPEND="true",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]))
    code, out, err = run_child([sys.executable, "-c", CHILD, str(tmp_path)], cwd=tmp_path, env=env)
    assert code == 0, err[-3000:]
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    kinds = [e["eventType"] for e in events]
    assert kinds[0] == "START" and kinds[-1] == "ABORT" and set(kinds[1:-1]) <= {"RUNNING"}
    assert len({e["run"]["runId"] for e in events}) == 1
    assert "exited" in events[-1]["run"]["facets"]["errorMessage"]["message"]
    judged = int(next(line for line in out.splitlines() if line.startswith("JUDGED")).split()[1])
    assert kinds.count("RUNNING") >= judged >= 1
