"""Stopping a write mid-stream is a clean stop: no JVM stack overflow, no error recorded."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.e2e.children import run_child

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

SCRIPT = """
import sys, threading
from pyspark.sql import SparkSession
from dc43.demo import demo_contract
from dc43.plugins import get_plugin_manager
from dc43.settings import Settings
from dc43.spark.io import read_stream_with_contract, write_stream_with_contract

spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1").getOrCreate())
contracts = get_plugin_manager().service("contract", Settings.load())
contract = demo_contract()
contracts.store.put(contract)
df, _ = read_stream_with_contract(spark=spark, contract_id=contract.id, contract_service=contracts,
                                  options={"rowsPerBatch": "50"})
busy = threading.Event()
result = write_stream_with_contract(
    df=df, contract_id=contract.id, contract_service=contracts, observation_writer=sys.argv[1], enforce=False,
    format="parquet", path="out", options={"checkpointLocation": "cp"},
    on_streaming_batch=lambda entry: busy.set() if entry["batch_id"] >= 5 else None)
assert busy.wait(120)
for query in result.details["streaming_queries"]:  # micro-batches run back to back: stopped mid-batch
    query.spark_query.stop() if sys.argv[2] == "spark" else query.stop()
print("ERROR", result.details.get("streaming_error"))
print("EXCEPTIONS", [q.exception() for q in result.details["streaming_queries"]])
spark.stop()
"""


@pytest.mark.parametrize("writer", ["foreach-batch", "inline"])
@pytest.mark.parametrize("stop", ["dc43", "spark"], ids=["handle-stop", "spark-query-stop"])
def test_stopping_mid_stream_is_clean(tmp_path: Path, writer: str, stop: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    code, out, err = run_child([sys.executable, "-c", SCRIPT, writer, stop], cwd=tmp_path, env=env)
    assert code == 0, err[-3000:]
    assert "StackOverflowError" not in err
    assert "ERROR None" in out
    assert "EXCEPTIONS [None" in out and "Exception(" not in out
