"""What keeping a key unique across micro-batches costs on the overhead workload.

Not a test: it prints timings and asserts none.  It exits with 1 only when a count differs
from the injected one.  The workload is ``stream_overhead.py``'s: ``--rows`` orders (default
2,000,000) in 20 parquet files, 2 files per micro-batch (10 batches of 200,000 rows), the
9-expectation contract whose ``order_id`` is ``unique``.  In one SparkSession (``local[2]``),
after an untimed warm-up round, ``--repeats`` rounds of:

* ``plain``: Spark alone, into a parquet sink;
* ``<writer> batch keys``: dc43 with ``dc43.keyHorizon: batch`` (the key unique in each batch);
* ``<writer> keys across``: dc43 with the contract as written (unique across every batch);
  for ``foreach-batch`` and ``inline+rejects`` (the inline gate with a rejection sink);
* ``spark dropDuplicates``: Spark's own streaming deduplication on ``order_id`` with a
  checkpoint (its state store keeps every key), the floor for exact uniqueness across batches;
* ``spark two queries`` and ``spark gate+rejects``: the hand-written floors of
  ``stream_overhead.py`` (no uniqueness across batches);
* ``dqx split`` and ``dqx flag``: Databricks Labs DQX applying the same rules in ``foreachBatch``
  (``benchmarks/dqx_peer.py``; only when ``databricks-labs-dqx`` is installed).

It prints each variant's median time and its ratios to plain Spark, then the targets: keys
across at most 1.15x keys per batch for each writer, below ``dropDuplicates``, and the gate
with keys across at most half of DQX's split.

    python benchmarks/keys_across.py                # 2,000,000 rows, 3 rounds
    python benchmarks/keys_across.py --quick        # 200,000 rows, 1 round
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stream_overhead as so  # noqa: E402 - the workload, its contract and its floors

ACROSS_TARGET = 1.15
DQX_TARGET = 0.5


def contract(horizon: str | None) -> Any:
    """The 9-expectation contract; ``horizon`` set: its ``dc43.keyHorizon``."""
    from open_data_contract_standard.model import OpenDataContractStandard

    schema: dict[str, Any] = {"name": "orders", "properties": so.base_properties()}
    if horizon:
        schema["customProperties"] = [{"property": "dc43.keyHorizon", "value": horizon}]
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": f"bench.orders.{horizon or 'across'}",
        "version": "1.0.0", "status": "active", "schema": [schema]})


def drop_duplicates(bench: so.Bench, keyed: Any) -> so.Run:
    """Spark's streaming ``dropDuplicates("order_id")`` into a parquet sink, with a checkpoint."""
    sink, cp = bench._dirs("dropDuplicates")
    cpu = so.cpu_seconds(bench.spark)
    start = time.perf_counter()
    query = (bench.source(keyed).dropDuplicates(["order_id"]).writeStream.format("parquet")
             .option("checkpointLocation", cp).trigger(availableNow=True).start(sink))
    query.awaitTermination()
    seconds = time.perf_counter() - start
    cpu = so._delta(cpu, so.cpu_seconds(bench.spark))
    data = bench.data
    # one row per order_id: the duplicates go, and every null order_id but one
    expected = (data.rows - (data.count(so.DUPLICATE_ORDER_ID) - data.unbroken_duplicates)
                - (data.count(so.NULL_ORDER_ID) - 1))
    rows = bench.spark.read.parquet(sink).count()
    run = so.Run("spark dropDuplicates", seconds, cpu,
                 mismatches=[] if rows == expected else [f"sink holds {rows} rows, expected {expected}"],
                 profile=[f"state: {_state_bytes(cp):,} bytes in the checkpoint's state store"])
    bench._cleanup(sink)
    return run


def _state_bytes(checkpoint: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(os.path.join(checkpoint, "state")) for name in names)


def _ratio(timed: dict[str, list[so.Run]], top: str, bottom: str) -> float | None:
    if not timed.get(top) or not timed.get(bottom):
        return None
    return so._median(timed[top]) / so._median(timed[bottom])


def report_targets(timed: dict[str, list[so.Run]]) -> None:
    print("\ntargets:")
    lines = [
        *((f"{w}: keys across / batch keys", f"{w} keys across", f"{w} batch keys", ACROSS_TARGET)
          for w in ("foreach-batch", "inline+rejects")),
        *((f"{w} keys across / spark dropDuplicates", f"{w} keys across", "spark dropDuplicates", 1.0)
          for w in ("foreach-batch", "inline+rejects")),
        ("inline+rejects keys across / dqx split", "inline+rejects keys across", "dqx split", DQX_TARGET),
        ("inline+rejects keys across / spark gate+rejects", "inline+rejects keys across", "spark gate+rejects",
         None),
        ("foreach-batch keys across / spark two queries", "foreach-batch keys across", "spark two queries", None),
    ]
    for label, top, bottom, target in lines:
        ratio = _ratio(timed, top, bottom)
        if ratio is None:
            print(f"  {label:<52} not measured")
            continue
        verdict = "" if target is None else (f"target <= {target:.2f}x  " + ("PASS" if ratio <= target else "MISS"))
        print(f"  {label:<52} {ratio:5.2f}x  {verdict}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows to generate (default 2000000)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200000 rows, 1 round")
    parser.add_argument("--workdir", default=None, help="folder for data and sinks")
    parser.add_argument("--only", default=None, help="comma-separated variants to time beside plain")
    args = parser.parse_args(argv)
    args.rows = args.rows or (200_000 if args.quick else 2_000_000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="dc43-keys-", dir=args.workdir)
    os.environ["DC43_STATE_DIR"] = os.path.join(workdir, "state")  # key histories go with the work folder
    spark = so.make_spark()
    try:
        import pyspark

        print("dc43 keys across micro-batches: benchmark")
        print(f"machine: {os.cpu_count()} cores, pyspark {pyspark.__version__}, {so._java_version()}, master local[2]")
        t0 = time.perf_counter()
        data = so.generate(spark, os.path.join(workdir, "source"), args.rows, 20)
        print(f"data: {data.rows:,} rows, 20 parquet files, 2 per micro-batch -> 10 micro-batches "
              f"({time.perf_counter() - t0:.1f} s to generate)")
        bench = so.Bench(spark, data, workdir, files_per_trigger=2)
        across, per_batch = contract(None), contract("batch")
        variants: list[tuple[str, Callable[[], so.Run]]] = [("plain", lambda: bench.plain(across))]
        for writer, label, rejects in (("foreach-batch", "foreach-batch", False),
                                       ("inline", "inline+rejects", True)):
            variants += [
                (f"{label} batch keys", lambda w=writer, lb=label, r=rejects: bench.dc43(
                    per_batch, w, label=f"{lb} batch keys", rejections=r)),
                (f"{label} keys across", lambda w=writer, lb=label, r=rejects: bench.dc43(
                    across, w, label=f"{lb} keys across", rejections=r))]
        variants += [("spark dropDuplicates", lambda: drop_duplicates(bench, across)),
                     ("spark two queries", lambda: bench.spark_floor(per_batch, "two queries")),
                     ("spark gate+rejects", lambda: bench.spark_floor(per_batch, "gate+rejects"))]
        try:
            import dqx_peer
        except ImportError as exc:
            print(f"DQX not measured ({exc}): pip install 'databricks-labs-dqx==0.17.0' (nox -s bench_keys does)")
        else:
            variants += [("dqx split", lambda: dqx_peer.run(bench, per_batch, "split")),
                         ("dqx flag", lambda: dqx_peer.run(bench, per_batch, "flag"))]
        if args.only:
            wanted = {"plain", *(name.strip() for name in args.only.split(","))}
            variants = [(name, run) for name, run in variants if name in wanted]
        timed = so._rounds("keys", variants, args.repeats)
        print(f"\n== keys across micro-batches: {data.rows:,} rows, 10 micro-batches, median of {args.repeats} ==")
        so._report(timed, "plain", {})
        report_targets(timed)
        ok = so._check_counts([r for runs in timed.values() for r in runs])
        print("\nprofile of the last timed run:")
        for name, runs in timed.items():
            print(f"  {name}:")
            for line in runs[-1].profile:
                print(f"    {line}")
        print(f"\ntotal time {time.perf_counter() - t0:.0f} s; timings are informational, never asserted")
        return 0 if ok else 1
    finally:
        spark.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
