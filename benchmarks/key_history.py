"""What keeping keys unique across micro-batches costs per batch, after 10 and after 100 batches.

Not a test: it prints timings and asserts none.  It exits with 1 only when a count of repeated
keys dc43 reported differs from the injected one.  In one SparkSession (``local[2]``), a folder
of ``--batches`` parquet files (``--rows`` rows each, one file per micro-batch) is streamed into
a parquet sink by:

* ``plain``: Spark alone;
* ``dc43 no key``: the inline gate with a contract without a key (no rule across batches);
* ``dc43 key``: the inline gate with ``primaryKey``: unique in each batch and across batches;
* ``spark dropDuplicates``: Spark's own streaming ``dropDuplicates("id")`` (state store);
* ``spark anti-join``: hand-written ``foreachBatch`` doing dc43's work by hand: the batch's
  distinct keys joined with a parquet folder of every key published before, the count of
  repeats, the write, then the new keys appended to that folder.

Batch ``k`` repeats one key of batch ``k - 7`` (from batch 7 on), so every count is known.
For each, the median ``triggerExecution`` of the batches around 10 and around 100, and its
ratio to plain Spark and to each hand-written floor.  ``--batches`` must exceed 105.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

WINDOWS = {"after 10": range(8, 14), "after 100": range(98, 104)}
REPEAT_LAG = 7


def make_spark() -> Any:
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("dc43-key-history")
             .config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.driver.host", "127.0.0.1").config("spark.sql.shuffle.partitions", "2")
             .config("spark.sql.streaming.numRecentProgressUpdates", "1000")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def generate(spark: Any, folder: Path, batches: int, rows: int) -> None:
    """One parquet file per batch; ids unique, except one id of batch k-7 repeated in batch k."""
    from pyspark.sql import functions as F

    for k in range(batches):
        ids = spark.range(k * rows, (k + 1) * rows)
        if k >= REPEAT_LAG:
            ids = ids.limit(rows - 1).union(spark.range((k - REPEAT_LAG) * rows, (k - REPEAT_LAG) * rows + 1))
        frame = ids.select(F.col("id"), (F.col("id") % 97).cast("double").alias("amount"))
        frame.coalesce(1).write.parquet(str(folder / "stage" / str(k)))
        (part,) = (folder / "stage" / str(k)).glob("part-*.parquet")
        part.rename(folder / "source" / f"batch-{k:04d}.parquet")
    shutil.rmtree(folder / "stage")


def contract(keyed: bool) -> Any:
    from open_data_contract_standard.model import OpenDataContractStandard

    key = {"primaryKey": True} if keyed else {}
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": f"bench.keys.{keyed}", "version": "1.0.0",
        "status": "active", "schema": [{"name": "events", "properties": [
            {"name": "id", "physicalType": "bigint", **key},
            {"name": "amount", "physicalType": "double", "quality": [{"mustBeGreaterOrEqualTo": 0}]}]}]})


def source(spark: Any, folder: Path) -> Any:
    return (spark.readStream.schema("id bigint, amount double").option("maxFilesPerTrigger", "1")
            .parquet(str(folder / "source")))


def durations(query: Any) -> list[int]:
    """``triggerExecution`` (ms) of each batch with rows, by batch id."""
    found = {p["batchId"]: p["durationMs"]["triggerExecution"] for p in query.recentProgress if p["numInputRows"]}
    return [found[k] for k in sorted(found)]


def run_plain(spark: Any, folder: Path, out: Path) -> list[int]:
    query = (source(spark, folder).writeStream.format("parquet").option("path", str(out / "sink"))
             .option("checkpointLocation", str(out / "cp")).trigger(availableNow=True).start())
    query.awaitTermination()
    return durations(query)


def run_drop_duplicates(spark: Any, folder: Path, out: Path) -> list[int]:
    query = (source(spark, folder).dropDuplicates(["id"]).writeStream.format("parquet")
             .option("path", str(out / "sink")).option("checkpointLocation", str(out / "cp"))
             .trigger(availableNow=True).start())
    query.awaitTermination()
    return durations(query)


def run_anti_join(spark: Any, folder: Path, out: Path, repeats: list[int]) -> list[int]:
    history = out / "keys"

    def batch(df: Any, batch_id: int) -> None:
        keys = df.select("id").distinct().persist()
        try:
            new = keys
            if history.exists():
                known = df.sparkSession.read.parquet(str(history))
                repeats.append(keys.join(known, "id", "left_semi").count())
                new = keys.join(known, "id", "left_anti")
            else:
                repeats.append(0)
            df.write.mode("append").parquet(str(out / "sink"))
            new.write.mode("append").parquet(str(history))
        finally:
            keys.unpersist()

    query = (source(spark, folder).writeStream.foreachBatch(batch).option("checkpointLocation", str(out / "cp"))
             .trigger(availableNow=True).start())
    query.awaitTermination()
    return durations(query)


def run_dc43(spark: Any, folder: Path, out: Path, keyed: bool, repeats: list[int]) -> list[int]:
    from dc43.contracts import LocalContractServiceClient
    from dc43.governance import LocalGovernanceService
    from dc43.quality import LocalDataQualityService
    from dc43_integrations.spark.io import write_stream_with_contract
    from dc43_memory.store import InMemoryContractStore

    store = InMemoryContractStore()
    store.put(contract(keyed))
    result = write_stream_with_contract(
        df=source(spark, folder), contract_id=f"bench.keys.{keyed}", format="parquet", path=str(out / "sink"),
        options={"checkpointLocation": str(out / "cp")}, observation_writer="inline", enforce=False,
        trigger={"availableNow": True}, contract_service=LocalContractServiceClient(store),
        data_quality_service=LocalDataQualityService(), governance_service=LocalGovernanceService(out / "gov.db"))
    (query,) = result.details["streaming_queries"]
    query.awaitTermination()
    # every batch's verdict, from governance (the live timeline keeps only the newest batches)
    for verdict in LocalGovernanceService(out / "gov.db").verdicts(str(out / "sink")):
        repeats.append(verdict.metrics.get("violations.unique_across:id", 0))
    return durations(query)


def median_in(times: list[int], window: range) -> float:
    return statistics.median(times[k] for k in window)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=110)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)
    if args.batches <= max(WINDOWS["after 100"]):
        parser.error(f"--batches must be above {max(WINDOWS['after 100'])}")
    spark = make_spark()
    work = Path(tempfile.mkdtemp(prefix="dc43-keys-", dir=args.workdir))
    os.environ["DC43_STATE_DIR"] = str(work / "state")  # key histories go with the work folder
    try:
        (work / "source").mkdir()
        generate(spark, work, args.batches, args.rows)
        injected = [1 if k >= REPEAT_LAG else 0 for k in range(args.batches)]
        counted: dict[str, list[int]] = {"dc43 key": [], "spark anti-join": []}
        times = {
            "plain": run_plain(spark, work, work / "plain"),
            "dc43 no key": run_dc43(spark, work, work / "dc43-no-key", False, []),
            "dc43 key": run_dc43(spark, work, work / "dc43-key", True, counted["dc43 key"]),
            "spark dropDuplicates": run_drop_duplicates(spark, work, work / "drop"),
            "spark anti-join": run_anti_join(spark, work, work / "anti", counted["spark anti-join"]),
        }
        print(f"{args.batches} micro-batches of {args.rows:,} rows, local[2]; median triggerExecution (ms)")
        floors = ("spark dropDuplicates", "spark anti-join")
        print(f"{'':22}" + "".join(f"{w:>14}" for w in WINDOWS) + "   ratios (after 100) to: plain, "
              + ", ".join(floors))
        for name, measured in times.items():
            medians = [median_in(measured, w) for w in WINDOWS.values()]
            ratios = [medians[-1] / median_in(times[base], WINDOWS["after 100"]) for base in ("plain", *floors)]
            print(f"{name:22}" + "".join(f"{m:>14.0f}" for m in medians) + "   "
                  + ", ".join(f"{r:.2f}x" for r in ratios))
        wrong = {name: found for name, found in counted.items() if found != injected}
        for name, found in wrong.items():
            print(f"{name}: counted {sum(found)} repeated keys, {sum(injected)} were injected")
        return 1 if wrong else 0
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
