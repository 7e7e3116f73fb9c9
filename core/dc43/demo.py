"""``dc43 demo``: the spec's streaming pipeline on the embedded default services.

Contracts go to ``./contracts`` (or ``DC43_CONTRACTS_DIR``); a rate source feeds
a memory sink through ``write_stream_with_contract`` and every micro-batch's
row count, violations and status are printed as they happen, then how to look at
the stream in the web UI.

The local Spark it starts is quiet: no progress bars, and its JVM logs only errors
(:data:`QUIET_LOG4J2`), so what the demo prints is dc43's own lines.
"""

from __future__ import annotations

import atexit
import os
import shlex
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from open_data_contract_standard.model import (
    DataQuality,
    Description,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
    Server,
)

DEMO_LIMIT = 20
SERVICE_ADDRESS = "http://127.0.0.1:8143"  # where ``dc43 serve`` listens by default

#: the log4j2 configuration of the JVM the demo starts: errors only, on stderr. The PySpark gateway's
#: logger is set too, else Spark lowers the console to WARN and says so when it starts.
QUIET_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
"""

#: what Java itself prints to stderr, outside any logging, and is no error: Spark starts the JVM with
#: ``--add-modules=jdk.incubator.vector`` and Java always says ``WARNING: Using incubator modules: …``
#: (newer JDKs add ``WARNING:`` lines about restricted or deprecated methods); they are not relayed.
#: Log lines, errors included, start with their time and are.
JVM_NOTICES = ("WARNING: ",)


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


def _quiet_log4j2() -> Path:
    """:data:`QUIET_LOG4J2` in a temporary file, removed when this process exits (the JVM reads it
    when it starts)."""
    fd, name = tempfile.mkstemp(prefix="dc43-demo-log4j2-", suffix=".properties")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(QUIET_LOG4J2)
    path = Path(name)
    atexit.register(path.unlink, missing_ok=True)
    return path


def _relay(stream: IO[bytes], target: Callable[[], IO[str]]) -> None:
    """Copy the JVM's stderr to ours line by line, all but :data:`JVM_NOTICES`."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        if not line.startswith(JVM_NOTICES):
            out = target()
            out.write(line)
            out.flush()


def _local_session() -> Any:
    """local[2] Spark in this process, quiet: no progress bars, and a JVM that logs errors only.

    The JVM is started here (not by the builder) so that its stderr comes through :func:`_relay`;
    a SparkContext this process already has is used as it is.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    conf = (SparkConf().setMaster("local[2]").setAppName("dc43-demo")
            .set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false")
            .set("spark.sql.shuffle.partitions", "2")
            .set("spark.driver.bindAddress", "127.0.0.1").set("spark.driver.host", "127.0.0.1"))
    if SparkContext._active_spark_context is None and SparkContext._gateway is None:
        log4j2 = _quiet_log4j2()
        conf.set("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log4j2.as_uri()}")
        gateway = launch_gateway(conf, popen_kwargs={"stderr": subprocess.PIPE})
        if getattr(gateway, "proc", None) is not None and gateway.proc.stderr is not None:
            threading.Thread(target=_relay, args=(gateway.proc.stderr, lambda: sys.stderr), daemon=True,
                             name="dc43-demo-jvm-stderr").start()
        SparkContext(conf=conf, gateway=gateway)
        spark = SparkSession.builder.getOrCreate()  # on that context, with its settings
    else:
        spark = SparkSession.builder.config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _session(remote: str | None) -> Any:
    """A Spark Connect session on ``remote``, else local[2] Spark in this process."""
    from pyspark.sql import SparkSession

    if remote:
        return SparkSession.builder.remote(remote).appName("dc43-demo").getOrCreate()
    return _local_session()


def web_ui_lines(settings: Any, dataset_id: str) -> list[str]:
    """How to look at the demo's stream in the web UI: the shared service's page when the demo wrote
    there, else the command that starts a service with what the demo recorded, and its address."""
    if settings.service_url:
        return [f"open {settings.service_url.rstrip('/')}/datasets/{quote(dataset_id, safe='')} to see the stream in the web UI"]
    command = (f"dc43 serve --import {shlex.quote(str(settings.governance_path))} "
               f"--contracts {shlex.quote(str(settings.contracts_dir))}")
    return ["to see the stream in the web UI, start the service with the demo's data:",
            f"  {command}", f"then open {SERVICE_ADDRESS}/"]


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
    dataset_id = result.details.get("dataset_id") or contract.id
    echo(f"verdicts are in {where}: try `dc43 verdicts {dataset_id}` or `dc43 report`")
    for line in web_ui_lines(settings, dataset_id):
        echo(line)
    return result
