"""A long run: does anything grow with the number of micro-batches?

Streams a ``rate-micro-batch`` source (``--rows`` rows per batch) through
``write_stream_with_contract`` for ``--batches`` micro-batches with each observation writer, and
prints, every ``--every`` batches: the driver's memory (this Python process's resident set and
the Spark JVM's used heap), the size of the live result (``details`` pickled), how far the sink
is ahead of the judging, and the size of the governance database (with and without
``keep_verdicts``).  It asserts nothing; see docs/reliability.md.

    python benchmarks/soak.py                       # 1,000 batches per writer
    python benchmarks/soak.py --batches 200 --every 50
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import resource
import shutil
import sys
import tempfile
import threading
import time
from typing import Any

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def jvm_heap_mib(spark: Any) -> float:
    runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
    return (runtime.totalMemory() - runtime.freeMemory()) / 2**20


def database_kib(path: str) -> float:
    """What the governance database holds (pages in use, its write-ahead log included)."""
    import sqlite3

    with sqlite3.connect(path) as db:
        pages, size, free = (db.execute(f"PRAGMA {name}").fetchone()[0]
                             for name in ("page_count", "page_size", "freelist_count"))
    return (pages - free) * size / 1024


def result_kib(result: Any) -> float:
    details = {k: v for k, v in result.details.items() if k not in ("streaming_queries", "streaming_monitor")}
    return len(pickle.dumps(details)) / 1024


def soak(spark: Any, writer: str, batches: int, rows: int, every: int, folder: str, keep: int | None) -> None:
    from dc43.contracts import LocalContractServiceClient
    from dc43.demo import demo_contract
    from dc43.governance import LocalGovernanceService
    from dc43.quality import LocalDataQualityService
    from dc43.spark.io import read_stream_with_contract, write_stream_with_contract
    from dc43_memory.store import InMemoryContractStore

    store = InMemoryContractStore()
    store.put(demo_contract())
    db = os.path.join(folder, f"{writer}-{keep}.db")
    services = {"contract_service": LocalContractServiceClient(store), "data_quality_service": LocalDataQualityService(),
                "governance_service": LocalGovernanceService(db, keep_verdicts=keep)}
    df, _ = read_stream_with_contract(spark=spark, contract_id="demo.rate_stream", options={"rowsPerBatch": str(rows)},
                                      **services)
    marks: dict[int, threading.Event] = {n: threading.Event() for n in range(0, batches + 1, every)}

    def seen(entry: dict[str, Any]) -> None:
        if entry["batch_id"] in marks:
            marks[entry["batch_id"]].set()

    out = os.path.join(folder, f"{writer}-{keep}")
    result = write_stream_with_contract(
        df=df, contract_id="demo.rate_stream", format="parquet", path=out, enforce=False,
        options={"checkpointLocation": out + "-cp"}, observation_writer=writer, on_streaming_batch=seen,
        max_observation_lag=None, **services)
    print(f"\n{writer} (keep_verdicts={keep}): {batches} batches of {rows} rows")
    print(f"{'batch':>6} {'elapsed s':>9} {'python MiB':>10} {'jvm heap MiB':>12} {'result KiB':>10} "
          f"{'sink ahead':>10} {'governance KiB':>14}")
    start = time.perf_counter()
    try:
        for mark in sorted(marks):
            if not marks[mark].wait(600):
                print(f"batch {mark} was not judged within 600 s")
                break
            gc.collect()
            lag = result.details.get("observation_lag", {}).get("behind", "-")
            print(f"{mark:>6} {time.perf_counter() - start:>9.1f} {rss_mib():>10.1f} {jvm_heap_mib(spark):>12.1f} "
                  f"{result_kib(result):>10.1f} {lag!s:>10} {database_kib(db):>14.0f}", flush=True)
    finally:
        for query in result.details["streaming_queries"]:
            query.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--writers", default="foreach-batch,inline,observe")
    args = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("dc43-soak").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    folder = tempfile.mkdtemp(prefix="dc43-soak-")
    os.environ["DC43_STATE_DIR"] = os.path.join(folder, "state")  # key histories go with the work folder
    os.environ["DC43_STATE_DIR"] = os.path.join(folder, ".dc43")
    try:
        print(f"dc43 soak: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
              f"python {sys.version.split()[0]}")
        for writer in args.writers.split(","):
            soak(spark, writer, args.batches, args.rows, args.every, folder, None)
        soak(spark, "foreach-batch", args.batches, args.rows, args.every, folder, 200)
    finally:
        spark.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
