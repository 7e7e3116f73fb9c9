"""``dc43 demo``: the spec's streaming pipeline on the embedded default services.

Contracts go to ``./contracts`` (or ``DC43_CONTRACTS_DIR``); a rate source feeds
a memory sink through ``write_stream_with_contract`` and every micro-batch's
row count, violations and status are printed as they happen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from open_data_contract_standard.model import (
    DataQuality,
    Description,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
    Server,
)

DEMO_LIMIT = 20


def demo_contract() -> OpenDataContractStandard:
    """The spec's rate-stream contract, with a warning rule the stream breaks over time."""
    return OpenDataContractStandard(
        version="0.1.0", kind="DataContract", apiVersion="3.0.2", id="demo.rate_stream",
        name="Rate stream", status="active",
        description=Description(usage="Streaming rate source"),
        schema=[SchemaObject(name="rate", properties=[
            SchemaProperty(name="timestamp", physicalType="timestamp", required=True),
            SchemaProperty(name="value", physicalType="bigint", required=True, unique=True,
                           quality=[DataQuality(mustBeLessThan=DEMO_LIMIT, severity="warning",
                                                description=f"values stay below {DEMO_LIMIT}")]),
        ])],
        servers=[Server(server="local", type="stream", format="rate-micro-batch")],
    )


def _session(remote: str | None) -> Any:
    """A Spark Connect session on ``remote``, else local[2] Spark in this process."""
    from pyspark.sql import SparkSession

    if remote:
        return SparkSession.builder.remote(remote).appName("dc43-demo").getOrCreate()
    spark = (SparkSession.builder.master("local[2]").appName("dc43-demo")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_demo(*, batches: int = 6, rows_per_batch: int = 5, remote: str | None = None,
             echo: Callable[[str], None] = print) -> Any:
    """Run the pipeline until ``batches`` micro-batches were judged; return the result.

    ``remote`` (``sc://host:port``) runs it on a Spark Connect server instead of local Spark.
    """
    from dc43.plugins import get_plugin_manager
    from dc43.settings import Settings
    from dc43.spark.io import read_stream_with_contract, write_stream_with_contract

    settings = Settings.load()
    manager = get_plugin_manager()
    contracts = manager.service("contract", settings)
    contract = demo_contract()
    contracts.put(contract)
    spark = _session(remote)
    echo(f"Spark: {'Spark Connect at ' + remote if remote else 'local[2] in this process'}")
    done = threading.Event()
    seen: list[dict[str, Any]] = []

    def show(entry: dict[str, Any]) -> None:
        if entry["status"] == "idle":
            return
        seen.append(entry)
        echo(f"batch {entry['batch_id']}: rows={entry['row_count']} "
             f"violations={entry['violations']} status={entry['status']}")
        if len(seen) >= batches:
            done.set()

    df, read = read_stream_with_contract(
        spark=spark, contract_id=contract.id, contract_service=contracts,
        expected_contract_version=f"=={contract.version}",
        options={"rowsPerBatch": str(rows_per_batch)},
    )
    echo(f"reading {read.details['dataset_id']} under {contract.id}@{contract.version}: {read.status}")
    result = write_stream_with_contract(
        df=df, contract_id=contract.id, contract_service=contracts,
        expected_contract_version=f"=={contract.version}", format="memory",
        options={"queryName": "dc43_demo_rate_events"}, on_streaming_batch=show,
        trigger={"processingTime": "1 second"},
    )
    try:
        done.wait(timeout=120)
    finally:
        for query in result.details["streaming_queries"]:
            query.stop()  # between micro-batches
    echo(f"{len(seen)} batches judged; latest status: {result.status}; "
         f"totals: {result.details.get('streaming_totals', {})}")
    where = f"the dc43 service at {settings.service_url}" if settings.service_url else settings.governance_path
    echo(f"verdicts are in {where}: try `dc43 verdicts {contract.id}` or `dc43 report`")
    return result
