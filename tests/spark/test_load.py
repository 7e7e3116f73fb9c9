"""Streams sharing one governance file: four writes in one process, and two processes at once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dc43.governance import LocalGovernanceService
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

from tests.spark.orders import SCHEMA

pytestmark = pytest.mark.spark

BATCHES, ROWS = 8, 3
CHILD = """
import sys
from pyspark.sql import SparkSession
from dc43.governance import LocalGovernanceService
from tests.spark.test_load import start, finish
from tests.spark.orders import orders_services

spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
         .config("spark.sql.shuffle.partitions", "2").getOrCreate())
services = {**orders_services(), "governance_service": LocalGovernanceService(sys.argv[1])}
results = [start(spark, sys.argv[2], f"{sys.argv[3]}-{n}", services) for n in range(2)]
print("ERRORS", finish(results), flush=True)
spark.stop()
"""


def start(spark: Any, source: str, out: str, services: dict[str, Any]) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return write_stream_with_contract(
        df=df, contract_id="sales.orders", format="parquet", path=out, enforce=False,
        options={"checkpointLocation": f"{out}-cp"}, observation_writer="inline", **services)


def finish(results: list[Any]) -> list[Any]:
    """Run every write to the end; the errors they recorded (none expected)."""
    try:
        for result in results:
            result.details["streaming_queries"][0].processAllAvailable()
    finally:
        for result in results:
            for query in result.details["streaming_queries"]:
                query.stop()
    return [r.details.get("streaming_error") for r in results if r.details.get("streaming_error")]


def orders(parquet_batches: Any) -> str:
    return parquet_batches(SCHEMA, [[(b * ROWS + r, "ann", 1.0, "EUR") for r in range(ROWS)]
                                    for b in range(BATCHES)])


def test_four_streams_in_one_process_lose_no_verdict(spark, parquet_batches, tmp_path, services, caplog):
    caplog.set_level(logging.WARNING)
    services["governance_service"] = LocalGovernanceService(tmp_path / "gov.db")
    source = orders(parquet_batches)
    results = [start(spark, source, str(tmp_path / f"out-{n}"), services) for n in range(4)]
    assert finish(results) == []
    governance = LocalGovernanceService(tmp_path / "gov.db")
    counts = [len(governance.verdicts(str(tmp_path / f"out-{n}"))) for n in range(4)]
    assert counts == [BATCHES] * 4
    assert "locked" not in caplog.text and "failed" not in caplog.text


@pytest.mark.e2e
def test_two_processes_on_one_governance_file_lose_no_verdict(spark, parquet_batches, tmp_path, services):
    db = tmp_path / "gov.db"
    services["governance_service"] = LocalGovernanceService(db)
    source = orders(parquet_batches)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    env.update(SPARK_LOCAL_IP="127.0.0.1", DC43_STATE_DIR=str(tmp_path / ".dc43-child"),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]))
    other = subprocess.Popen([sys.executable, "-c", CHILD, str(db), source, str(tmp_path / "child")],
                             cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        mine = finish([start(spark, source, str(tmp_path / f"parent-{n}"), services) for n in range(2)])
        out, err = other.communicate(timeout=300)
    finally:
        if other.poll() is None:
            other.kill()
    assert other.returncode == 0, err[-3000:]
    assert mine == [] and "ERRORS []" in out
    assert "database is locked" not in err
    governance = LocalGovernanceService(db)
    outputs = [f"parent-{n}" for n in range(2)] + [f"child-{n}" for n in range(2)]
    assert [len(governance.verdicts(str(tmp_path / name))) for name in outputs] == [BATCHES] * 4
