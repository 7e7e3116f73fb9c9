"""A session not built for Delta Lake: the `delta` format refuses before anything runs, naming the fix."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.e2e.children import run_child

pytestmark = [pytest.mark.e2e]

CHILD = """
import sys
from pyspark.sql import SparkSession
from dc43.errors import Dc43Error
from dc43_integrations.spark.io import write_stream_with_contract, write_with_contract
from tests.spark.orders import SCHEMA, orders_services

spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1").getOrCreate())
folder = sys.argv[1]
services = orders_services()
df = spark.createDataFrame([(1, "ann", 1.0, "EUR")], SCHEMA)
stream = spark.readStream.format("rate").load().selectExpr(
    "value AS order_id", "'ann' AS customer", "1.0D AS amount", "'EUR' AS currency")
for name, write in [
    ("batch", lambda: write_with_contract(df=df, contract_id="sales.orders", format="delta",
                                          path=f"{folder}/t", **services)),
    ("inline", lambda: write_stream_with_contract(
        df=stream, contract_id="sales.orders", format="delta", path=f"{folder}/s", observation_writer="inline",
        options={"checkpointLocation": f"{folder}/cp"}, **services)),
]:
    try:
        write()
    except Dc43Error as exc:
        print(name, "REFUSED", exc, flush=True)
print("ACTIVE", len(spark.streams.active), flush=True)
print("VERDICTS", len(services["governance_service"].verdicts(f"{folder}/t")), flush=True)
"""


def test_a_session_without_delta_is_refused_with_the_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    env.update(SPARK_LOCAL_IP="127.0.0.1", DC43_STATE_DIR=str(tmp_path / ".dc43"),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]))
    code, out, err = run_child([sys.executable, "-c", CHILD, str(tmp_path)], cwd=tmp_path, env=env)
    assert code == 0, err[-3000:]
    refused = [line for line in out.splitlines() if "REFUSED" in line]
    assert [line.split()[0] for line in refused] == ["batch", "inline"]
    for line in refused:
        assert "dc43_delta.configure(SparkSession.builder)" in line and "io.delta.sql.DeltaSparkSessionExtension" in line
    assert "ACTIVE 0" in out  # refused before any query started
    assert "VERDICTS 0" in out  # and before the batch was judged
    assert not (tmp_path / "t").exists() and not (tmp_path / "s").exists()
