"""What a shared ``dc43 serve`` costs a stream, and how fast it answers under load.

Part 1 streams the same parquet folder (``maxFilesPerTrigger=1``, ``availableNow``) into a parquet
sink, alternating, after a warm-up round:

* ``plain``: Spark alone;
* ``hand local`` / ``hand remote``: ``foreachBatch`` written by hand doing dc43's work for this
  contract (the sink write, one aggregation of the rules, a verdict row) with the verdict kept in
  a SQLite file, or POSTed to the service with httpx;
* ``dc43 local``: ``write_stream_with_contract`` on the embedded default (SQLite under the work dir);
* ``dc43 remote``: the same call with only ``DC43_SERVICE_URL``/``DC43_SERVICE_TOKEN`` set, every
  service in a ``dc43 serve`` on SQLite (and on PostgreSQL when its binaries are installed).

It prints median times and every ratio: to plain Spark, to the hand-written code doing the same
work, and remote to local (target: within 5%).

Part 2 runs eight streams in two processes, each process behind its own ``dc43 serve`` on one
database, and prints the round trip of every verdict the batch side posted: p50 and p99, beside the
same calls made one at a time with nothing else running. Prints only; asserts nothing.

    nox -s bench_service                 # 40 batches of 20,000 rows, 3 rounds, then the load
    nox -s bench_service -- --quick      # 10 batches, 1 round
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the test suite's PostgreSQL and dc43 serve starters

TARGET_REMOTE = 1.05
CONTRACT = {
    "apiVersion": "3.0.2", "kind": "DataContract", "id": "bench.orders", "version": "1.0.0", "status": "active",
    "schema": [{"name": "orders", "properties": [
        {"name": "order_id", "physicalType": "bigint", "required": True, "unique": True},
        {"name": "amount", "physicalType": "double", "quality": [{"mustBeGreaterOrEqualTo": 0}]},
        {"name": "currency", "physicalType": "string", "quality": [{"rule": "enum", "mustBe": ["EUR", "USD"]}]},
    ]}],
}
CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[4])
from benchmarks.service_overhead import load_streams, make_spark
spark = make_spark()
print("TIMES", json.dumps(load_streams(spark, sys.argv[1], sys.argv[2], int(sys.argv[3]))), flush=True)
spark.stop()
"""


def make_spark() -> Any:
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("dc43-bench-service").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.driver.host", "127.0.0.1").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def generate(spark: Any, folder: str, batches: int, rows: int) -> None:
    """``batches`` parquet files of ``rows`` rows; one row in 1,000 has a negative amount."""
    from pyspark.sql import functions as F

    df = (spark.range(batches * rows).withColumn("file", (F.col("id") / rows).cast("int"))
          .select(F.col("id").alias("order_id"),
                  F.when(F.col("id") % 1000 == 7, -1.0).otherwise(F.col("id") % 97 + 0.5).alias("amount"),
                  F.when(F.col("id") % 2 == 0, "EUR").otherwise("USD").alias("currency"), "file"))
    df.repartition(batches, "file").write.partitionBy("file").parquet(folder + "-parts")
    for index, part in enumerate(sorted(Path(folder + "-parts").glob("file=*"))):
        for number, file in enumerate(sorted(part.glob("*.parquet"))):
            target = Path(folder) / f"batch-{index:04d}-{number}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(file, target)
            os.utime(target, (1_700_000_000 + index, 1_700_000_000 + index))
    shutil.rmtree(folder + "-parts")


def _source(spark: Any, folder: str) -> Any:
    return (spark.readStream.format("parquet").schema("order_id bigint, amount double, currency string")
            .option("maxFilesPerTrigger", "1").load(folder))


def _timed(start: Callable[[], list[Any]]) -> float:
    began = time.perf_counter()
    queries = start()
    for query in queries:
        query.awaitTermination()
    return time.perf_counter() - began


def plain(spark: Any, folder: str, out: str) -> float:
    return _timed(lambda: [_source(spark, folder).writeStream.format("parquet").option("path", out)
                           .option("checkpointLocation", out + "-cp").trigger(availableNow=True).start()])


def _measure(batch: Any) -> dict[str, int]:
    from pyspark.sql import functions as F

    row = batch.agg(F.count(F.lit(1)).alias("rows"),
                    F.count(F.when(F.col("order_id").isNull(), 1)).alias("null_id"),
                    (F.count(F.col("order_id")) - F.countDistinct("order_id")).alias("duplicate_id"),
                    F.count(F.when(F.col("amount") < 0, 1)).alias("negative"),
                    F.count(F.when(~F.col("currency").isin("EUR", "USD"), 1)).alias("currency")).first()
    return row.asDict()


def hand_written(spark: Any, folder: str, out: str, record: Callable[[int, dict[str, int]], None]) -> float:
    """foreachBatch doing the work by hand: write the batch, measure it once, record a verdict."""
    def each(batch: Any, batch_id: int) -> None:
        batch.persist()
        batch.write.mode("append").parquet(out)
        record(batch_id, _measure(batch))
        batch.unpersist()

    return _timed(lambda: [_source(spark, folder).writeStream.foreachBatch(each)
                           .option("checkpointLocation", out + "-cp").trigger(availableNow=True).start()])


def sqlite_recorder(path: str) -> Callable[[int, dict[str, int]], None]:
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("CREATE TABLE IF NOT EXISTS verdicts (batch_id INTEGER PRIMARY KEY, status TEXT, metrics TEXT)")

    def record(batch_id: int, metrics: dict[str, int]) -> None:
        status = "block" if any(v for k, v in metrics.items() if k != "rows") else "ok"
        with db:
            db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)", (batch_id, status, json.dumps(metrics)))
    return record


def http_recorder(url: str, token: str, dataset: str) -> Callable[[int, dict[str, int]], None]:
    import httpx

    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def record(batch_id: int, metrics: dict[str, int]) -> None:
        status = "block" if any(v for k, v in metrics.items() if k != "rows") else "ok"
        client.post("/api/governance/verdicts", json={
            "dataset_id": dataset, "dataset_version": str(batch_id), "batch_id": batch_id, "contract_id": "bench.orders",
            "contract_version": "1.0.0", "status": status, "row_count": metrics["rows"], "metrics": metrics,
            "reason": None, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())}).raise_for_status()
    return record


def dc43(spark: Any, folder: str, out: str, **services: Any) -> float:
    from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

    def start() -> list[Any]:
        df, _ = read_stream_with_contract(spark=spark, contract_id="bench.orders", format="parquet", path=folder,
                                          options={"maxFilesPerTrigger": "1"}, **services)
        result = write_stream_with_contract(df=df, contract_id="bench.orders", format="parquet", path=out,
                                            options={"checkpointLocation": out + "-cp"}, enforce=False,
                                            trigger={"availableNow": True}, **services)
        return result.details["streaming_queries"]

    return _timed(start)


class Settings:
    """Points dc43 at the embedded default under ``state`` or at a service, for the next run."""

    def __init__(self, state: Path) -> None:
        self.state = state

    def local(self) -> None:
        from dc43.plugins import reset_plugin_manager

        for name in ("DC43_SERVICE_URL", "DC43_SERVICE_TOKEN"):
            os.environ.pop(name, None)
        os.environ.update(DC43_STATE_DIR=str(self.state / "local"), DC43_CONTRACTS_DIR=str(self.state / "contracts"))
        reset_plugin_manager()

    def remote(self, url: str, token: str) -> None:
        from dc43.plugins import reset_plugin_manager

        os.environ.update(DC43_SERVICE_URL=url, DC43_SERVICE_TOKEN=token, DC43_STATE_DIR=str(self.state / "remote"))
        reset_plugin_manager()


def _publish(url: str | None, token: str | None, contracts_dir: Path) -> None:
    from dc43.contracts import FSContractStore
    from dc43.contracts.loading import contract_from_dict
    from dc43_http.clients import RemoteContractServiceClient

    contract = contract_from_dict(CONTRACT, "benchmark")
    if url is None:
        FSContractStore(contracts_dir).put(contract)
    else:
        RemoteContractServiceClient(base_url=url, token=token).put(contract)


def overhead(spark: Any, work: Path, services: dict[str, Any], batches: int, rows: int, repeats: int) -> None:
    folder = str(work / "source")
    generate(spark, folder, batches, rows)
    settings = Settings(work / "state")
    _publish(None, None, work / "state" / "contracts")
    for service in services.values():
        _publish(service.url, service.token, work)
    first = next(iter(services.values()))
    variants: dict[str, Callable[[str], float]] = {
        "plain": lambda out: plain(spark, folder, out),
        "hand local": lambda out: hand_written(spark, folder, out, sqlite_recorder(out + ".db")),
        "hand remote": lambda out: hand_written(spark, folder, out, http_recorder(first.url, first.token, out)),
        "dc43 local": lambda out: (settings.local(), dc43(spark, folder, out))[1],
    }
    for name, service in services.items():
        variants[f"dc43 remote {name}"] = lambda out, s=service: (settings.remote(s.url, s.token),
                                                                   dc43(spark, folder, out))[1]
    print(f"\npart 1: {batches} micro-batches of {rows:,} rows; 1 warm-up round, then {repeats} timed", flush=True)
    timed: dict[str, list[float]] = {name: [] for name in variants}
    for round_no in range(repeats + 1):
        for name, run in variants.items():
            seconds = run(str(work / "out" / f"{name.replace(' ', '-')}-{round_no}"))
            print(f"  {'warm-up' if not round_no else f'round {round_no}':<8} {name:<22} {seconds:7.2f} s", flush=True)
            if round_no:
                timed[name].append(seconds)
    settings.local()
    median = {name: statistics.median(runs) for name, runs in timed.items()}
    print(f"\n{'variant':<22} | {'median s':>8} | {'vs plain':>8} | vs hand-written")
    for name, seconds in median.items():
        hand = "hand remote" if "remote" in name else "hand local"
        versus = f"{seconds / median[hand]:.2f}x ({hand})" if name.startswith("dc43") else "-"
        print(f"{name:<22} | {seconds:8.2f} | {seconds / median['plain']:7.2f}x | {versus}")
    for name in services:
        ratio = median[f"dc43 remote {name}"] / median["dc43 local"]
        print(f"dc43 remote ({name}) / dc43 local: {ratio:.3f}x (target <= {TARGET_REMOTE:.2f}x: "
              f"{'met' if ratio <= TARGET_REMOTE else 'missed'})")


class TimedGovernance:
    """The remote governance client, timing each verdict's round trip (kept per process)."""

    times: list[float] = []

    def __new__(cls, **kwargs: Any) -> Any:
        from dc43_http.clients import RemoteGovernanceServiceClient

        class Timed(RemoteGovernanceServiceClient):
            def record_verdict(self, verdict: Any) -> None:
                began = time.perf_counter()
                super().record_verdict(verdict)
                TimedGovernance.times.append(time.perf_counter() - began)

        return Timed(**kwargs)


def load_streams(spark: Any, folder: str, prefix: str, streams: int) -> list[float]:
    """``streams`` dc43 streams of ``folder`` at once against the service the environment names;
    the round trip of every verdict they posted, in seconds."""
    from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

    governance = TimedGovernance()
    queries = []
    for n in range(streams):
        df, _ = read_stream_with_contract(spark=spark, contract_id="bench.orders", format="parquet", path=folder,
                                          options={"maxFilesPerTrigger": "1"}, governance_service=governance)
        result = write_stream_with_contract(df=df, contract_id="bench.orders", format="parquet", path=f"{prefix}-{n}",
                                            options={"checkpointLocation": f"{prefix}-{n}-cp"}, enforce=False,
                                            trigger={"availableNow": True}, governance_service=governance)
        queries += result.details["streaming_queries"]
    for query in queries:
        query.awaitTermination()
    return list(TimedGovernance.times)


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms, p99 {p99 * 1000:6.1f} ms ({len(ordered)} verdicts)"


def load(spark: Any, work: Path, database_url: str, label: str, batches: int) -> None:
    from dc43.governance.service import BatchVerdict

    from tests.service_process import ServeProcess

    work = work / f"load-{label}"
    folder = str(work / "source")
    generate(spark, folder, batches, 2_000)
    TimedGovernance.times.clear()
    first = ServeProcess(database_url, work / "serve-a").start()
    second = ServeProcess(database_url, work / "serve-b", token=first.token).start()
    try:
        _publish(first.url, first.token, work)
        idle = TimedGovernance(base_url=first.url, token=first.token)
        for batch in range(200):
            idle.record_verdict(BatchVerdict("bench.idle", "1", batch, "bench.orders", "1.0.0", "ok", 1,
                                             {"row_count": 1}, None, "2026-01-01T00:00:00.000000Z"))
        alone = list(TimedGovernance.times)
        TimedGovernance.times.clear()
        env = {**os.environ, "DC43_SERVICE_URL": second.url, "DC43_SERVICE_TOKEN": second.token,
               "DC43_STATE_DIR": str(work / "child-state")}
        child = subprocess.Popen([sys.executable, "-c", CHILD, folder, str(work / "load" / "child"), "4", str(REPO)],
                                 env=env, stdout=subprocess.PIPE, text=True)
        Settings(work / "state").remote(first.url, first.token)
        mine = load_streams(spark, folder, str(work / "load" / "parent"), 4)
        out, _ = child.communicate(timeout=1800)
        theirs = json.loads(out.split("TIMES ", 1)[1])
    finally:
        first.stop()
        second.stop()
    print(f"\npart 2 ({label}): 8 streams of {batches} batches in 2 processes, behind 2 dc43 serve processes")
    print(f"  verdict round trip, one at a time, nothing else running: {_percentiles(alone)}")
    print(f"  verdict round trip under the 8-stream load:              {_percentiles(mine + theirs)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10 batches, 1 round")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.repeats = 10, 1
    from tests.postgres_server import PostgresServer, postgres_available
    from tests.service_process import ServeProcess

    work = Path(tempfile.mkdtemp(prefix="dc43-bench-service-", dir=args.workdir))
    postgres = None if postgres_available() else PostgresServer().start()
    spark = make_spark()
    services = {"sqlite": ServeProcess(f"sqlite:///{work / 'service.db'}", work / "serve-sqlite").start()}
    try:
        if postgres is not None:
            services["postgresql"] = ServeProcess(postgres.url, work / "serve-pg").start()
        overhead(spark, work, services, args.batches, args.rows, args.repeats)
        for service in services.values():
            service.stop()
        if postgres is not None:
            load(spark, work, postgres.url, "PostgreSQL", args.batches)
        load(spark, work, f"sqlite:///{work / 'load.db'}", "SQLite", args.batches)
    finally:
        for service in services.values():
            service.stop()
        if postgres is not None:
            postgres.stop()
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
