"""How much does contract enforcement cost a Spark Structured Streaming write?

The benchmark generates a parquet folder with a known number of rule-breaking
rows, then streams it (``maxFilesPerTrigger``, ``availableNow``) into a parquet
sink, alternating:

* ``plain``: ``readStream ... writeStream.format("parquet")`` with no dc43 at all;
* one run per observation writer in dc43's plugin catalogue, through
  ``write_stream_with_contract(..., observation_writer=name, enforce=False)``.

It prints the median wall time of each, the ratio to plain's median, whether the
violation totals dc43 reported equal the injected ones, and a scaling run with a
9- and a 50-expectation contract.  Timings are printed, never asserted.

    python benchmarks/stream_overhead.py --quick         # smoke run, 200,000 rows
    python benchmarks/stream_overhead.py                 # 2,000,000 rows, 3 rounds
    python benchmarks/stream_overhead.py --profile       # + observe-only and 2x-plain runs
    python benchmarks/stream_overhead.py --connect       # everything through a Spark Connect server

With ``--connect`` the script starts a Spark Connect server (local[2], from the pyspark
wheel) and runs every variant, plain Spark included, as its client: the ratios then say
what dc43 costs on Connect.  Spark jobs are not counted there (no ``statusTracker``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# -- the data -----------------------------------------------------------------
# Row ``id`` breaks exactly one rule when ``id % MOD`` is one of these residues
# (9 residues of 1000: 0.9% of the rows).  Every other row satisfies every rule.
MOD = 1000
NULL_ORDER_ID = 1
NULL_CUSTOMER = 2
DUPLICATE_ORDER_ID = 3  # order_id = id - 1: the row before it (same file) holds that id
NEGATIVE_AMOUNT = 4
HUGE_AMOUNT = 5
BAD_CURRENCY = 6
BAD_EMAIL = 7
NULL_CREATED_AT = 8
BAD_CUSTOMER = 9
INJECTED = {
    NULL_ORDER_ID: "order_id is null",
    NULL_CUSTOMER: "customer_id is null",
    DUPLICATE_ORDER_ID: "order_id repeats the previous row's",
    NEGATIVE_AMOUNT: "amount < 0",
    HUGE_AMOUNT: "amount > 100000",
    BAD_CURRENCY: "currency is JPY",
    BAD_EMAIL: "email has no @",
    NULL_CREATED_AT: "created_at is null",
    BAD_CUSTOMER: "customer_id does not match ^C[0-9]{8}$",
}
EMAIL_REGEX = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
CUSTOMER_REGEX = r"^C[0-9]{8}$"
TARGETS = {"foreach-batch": 1.6, "observe": 1.15, "inline": 1.5, "inline+rejects": 2.0}
SCALING_TARGET = 1.20
VERDICT_TIMEOUT = 60.0


@attrs.frozen
class Dataset:
    """The generated source folder and what the script injected into it."""

    path: str
    rows: int
    files: int
    residues: Mapping[int, int]  # residue -> number of rows with id % MOD == residue
    unbroken_duplicates: int  # residue-3 rows left clean: their predecessor is in another file

    def count(self, residue: int) -> int:
        return self.residues[residue]


def residue_count(rows: int, residue: int) -> int:
    return rows // MOD + (1 if rows % MOD > residue else 0)


def generate(spark: Any, path: str, rows: int, files: int) -> Dataset:
    """Write ``rows`` rows as ``files`` parquet files (one per ``spark.range`` partition).

    ``spark.range(0, n, 1, p)`` puts ids ``[i*n//p, (i+1)*n//p)`` in partition ``i``
    and each partition becomes one file, so a duplicate ``order_id = id - 1`` shares
    its file (and its micro-batch) with the original unless ``id`` starts a partition;
    such rows are left clean, so every duplicate is visible to a per-batch count.
    """
    starts = [i * rows // files for i in range(1, files)]
    crossing = sorted(s for s in starts if s % MOD == DUPLICATE_ORDER_ID)
    not_crossing = f" AND id NOT IN ({', '.join(map(str, crossing))})" if crossing else ""
    r = f"(id % {MOD})"
    columns = {
        "order_id": f"CASE WHEN {r} = {NULL_ORDER_ID} THEN CAST(NULL AS BIGINT) "
                    f"WHEN {r} = {DUPLICATE_ORDER_ID}{not_crossing} THEN id - 1 ELSE id END",
        "customer_id": f"CASE WHEN {r} = {NULL_CUSTOMER} THEN CAST(NULL AS STRING) "
                       f"WHEN {r} = {BAD_CUSTOMER} THEN concat('cust-', id) "
                       "ELSE format_string('C%08d', id % 100000000) END",
        "amount": f"CASE WHEN {r} = {NEGATIVE_AMOUNT} THEN -1.0 - (id % 7) "
                  f"WHEN {r} = {HUGE_AMOUNT} THEN 100000.5 + (id % 7) "
                  "ELSE CAST((id * 7919) % 10000001 AS DOUBLE) / 100.0 END",
        "currency": f"CASE WHEN {r} = {BAD_CURRENCY} THEN 'JPY' "
                    "ELSE element_at(array('EUR', 'USD', 'GBP'), CAST(id % 3 AS INT) + 1) END",
        "email": f"CASE WHEN {r} = {BAD_EMAIL} THEN concat('user', id, '.example.com') "
                 "ELSE concat('user', id, '@', element_at(array('example.com', 'mail.test', "
                 "'shop.example.org'), CAST(id % 3 AS INT) + 1)) END",
        "created_at": f"CASE WHEN {r} = {NULL_CREATED_AT} THEN CAST(NULL AS TIMESTAMP) "
                      "ELSE timestamp_seconds(1704067200 + id) END",
    }
    (spark.range(0, rows, 1, files)
     .selectExpr(*(f"{expr} AS {name}" for name, expr in columns.items()))
     .write.mode("overwrite").parquet(path))
    residues = {k: residue_count(rows, k) for k in INJECTED}
    return Dataset(path=path, rows=rows, files=files, residues=residues,
                   unbroken_duplicates=len(crossing))


# -- the contracts ------------------------------------------------------------
def _contract(contract_id: str, properties: list[dict[str, Any]]) -> Any:
    from open_data_contract_standard.model import OpenDataContractStandard

    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": contract_id, "version": "1.0.0",
        "status": "active", "schema": [{"name": "orders", "properties": properties}],
    })


def base_properties() -> list[dict[str, Any]]:
    return [
        {"name": "order_id", "physicalType": "bigint", "required": True, "unique": True},
        {"name": "customer_id", "physicalType": "string", "required": True,
         "quality": [{"rule": "regex", "mustBe": CUSTOMER_REGEX}]},
        {"name": "amount", "physicalType": "double",
         "quality": [{"mustBeGreaterOrEqualTo": 0}, {"mustBeLessOrEqualTo": 100000}]},
        {"name": "currency", "physicalType": "string",
         "quality": [{"rule": "enum", "mustBe": ["EUR", "USD", "GBP"]}]},
        {"name": "email", "physicalType": "string",
         "quality": [{"rule": "regex", "mustBe": EMAIL_REGEX}]},
        {"name": "created_at", "physicalType": "timestamp", "required": True},
    ]


# Extra rules of the 50-expectation contract (41: 22 numeric ranges, 6 enums,
# 13 regexes).  Every non-null value, injected bad values included, satisfies
# them, so their only violations are the nulls of the two required columns (a
# value rule on a required column fails on null).  dc43 keys a repeated
# ``<rule>:<column>`` as ``#2``, ``#3``...
EXTRA_RULES: dict[str, list[dict[str, Any]]] = {
    "order_id": [{"mustBeGreaterOrEqualTo": 0}, {"mustBeGreaterThan": -1},
                 {"mustBeLessThan": 10**15}, {"mustBeLessOrEqualTo": 10**15}],
    "customer_id": [{"rule": "regex", "mustBe": p} for p in (r"^(C|cust-)[0-9]+$", r"[0-9]+$", r"^\S{5,20}$")],
    "amount": [
        *({"mustBeGreaterOrEqualTo": v} for v in (-10, -100, -1000, -10**6)),
        *({"mustBeGreaterThan": v} for v in (-20, -10**4, -10**9)),
        *({"mustBeLessOrEqualTo": v} for v in (100100, 200000, 10**6, 10**9)),
        *({"mustBeLessThan": v} for v in (100200, 10**12)),
        *({"mustBeBetween": v} for v in ([-10, 100010], [-100, 200000], [-10**6, 10**6])),
        *({"mustNotBeBetween": v} for v in ([10**7, 10**8], [-10**8, -10**7])),
    ],
    "currency": [
        {"rule": "enum", "mustBe": ["EUR", "USD", "GBP", "JPY"]},
        {"rule": "enum", "mustBe": ["EUR", "USD", "GBP", "JPY", "CHF"]},
        {"rule": "enum", "mustBe": ["EUR", "USD", "GBP", "JPY", "CHF", "SEK", "NOK"]},
        {"rule": "enum", "mustBe": ["AUD", "CAD", "EUR", "GBP", "JPY", "USD"]},
        {"rule": "enum", "mustNotBe": ["XXX", "XTS"]},
        {"rule": "enum", "mustNotBe": ["", "N/A", "NONE"]},
        {"rule": "regex", "mustBe": r"^[A-Z]{3}$"},
        {"rule": "regex", "mustBe": r"^(EUR|USD|GBP|JPY)$"},
    ],
    "email": [{"rule": "regex", "mustBe": p} for p in (
        r"^user[0-9]+", r"^[a-z0-9@.]+$", r"\.(com|test|org)$", r"^\S+$", r"^.{8,120}$",
        r"example|mail", r"^[^ ,;]+$", r"[0-9]")],
}


def contract_9() -> Any:
    return _contract("bench.orders9", base_properties())


def contract_50() -> Any:
    properties = base_properties()
    for prop in properties:
        prop["quality"] = [*prop.get("quality", []), *EXTRA_RULES.get(prop["name"], [])]
    return _contract("bench.orders50", properties)


def expected_totals(contract: Any, data: Dataset, plan: list[Any]) -> dict[str, int]:
    """The ``streaming_totals`` a correct run must report for ``plan``."""
    c = data.count
    base = {
        "row_count": data.rows,
        "violations.not_null:order_id": c(NULL_ORDER_ID),
        "violations.unique:order_id": c(DUPLICATE_ORDER_ID) - data.unbroken_duplicates,
        "violations.unique_across:order_id": 0,  # a duplicate shares its file, hence its batch
        "violations.not_null:customer_id": c(NULL_CUSTOMER),
        # a value rule on a required column also fails on its nulls
        "violations.regex:customer_id": c(NULL_CUSTOMER) + c(BAD_CUSTOMER),
        "violations.ge:amount": c(NEGATIVE_AMOUNT),
        "violations.le:amount": c(HUGE_AMOUNT),
        "violations.enum:currency": c(BAD_CURRENCY),
        "violations.regex:email": c(BAD_EMAIL),
        "violations.not_null:created_at": c(NULL_CREATED_AT),
    }
    nulls = {"order_id": c(NULL_ORDER_ID), "customer_id": c(NULL_CUSTOMER)}
    expected = {"row_count": data.rows}
    for expectation in plan:
        if expectation.metric in base:
            expected[expectation.metric] = base[expectation.metric]
        else:  # an extra rule of the 50-expectation contract
            expected[expectation.metric] = nulls.get(expectation.column, 0)
    return expected


# -- Spark ----------------------------------------------------------------------
def is_connect(spark: Any) -> bool:
    return type(spark).__module__.startswith("pyspark.sql.connect")


def make_spark(remote: str | None = None) -> Any:
    from pyspark.sql import SparkSession

    if remote:
        return SparkSession.builder.remote(remote).getOrCreate()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("dc43-stream-overhead")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@attrs.define
class Run:
    """One timed streaming write."""

    variant: str
    seconds: float
    cpu: float | None = None  # CPU seconds of the Spark JVM and the Python driver during the run
    mismatches: list[str] = attrs.field(factory=list)
    profile: list[str] = attrs.field(factory=list)


class Bench:
    def __init__(self, spark: Any, data: Dataset, workdir: str, files_per_trigger: int) -> None:
        self.spark = spark
        self.data = data
        self.workdir = workdir
        self.files_per_trigger = files_per_trigger
        self._n = 0

    # each run writes to fresh sink and checkpoint folders, removed afterwards
    def _dirs(self, variant: str) -> tuple[str, str]:
        self._n += 1
        base = os.path.join(self.workdir, "runs", f"{self._n:03d}-{variant}")
        return os.path.join(base, "sink"), os.path.join(base, "checkpoint")

    def _cleanup(self, sink: str) -> None:
        shutil.rmtree(os.path.dirname(sink), ignore_errors=True)

    def source(self, contract: Any) -> Any:
        from dc43.spark.types import contract_struct

        return (self.spark.readStream.schema(contract_struct(contract))
                .option("maxFilesPerTrigger", str(self.files_per_trigger))
                .parquet(self.data.path))

    def _sink_rows(self, *sinks: str) -> list[str]:
        rows = sum(self.spark.read.parquet(sink).count() for sink in sinks if os.path.exists(sink))
        return [] if rows == self.data.rows else [f"sinks hold {rows} rows, expected {self.data.rows}"]

    def plain(self, contract: Any, copies: int = 1) -> Run:
        """Plain Spark: ``copies`` parquet sinks over the same source, started together."""
        dirs = [self._dirs("plain") for _ in range(copies)]
        first_job = _ungrouped_jobs(self.spark)
        cpu = cpu_seconds(self.spark)
        start = time.perf_counter()
        queries = [self.source(contract).writeStream.format("parquet")
                   .option("checkpointLocation", cp).trigger(availableNow=True).start(sink)
                   for sink, cp in dirs]
        for query in queries:
            query.awaitTermination()
        seconds = time.perf_counter() - start
        cpu = _delta(cpu, cpu_seconds(self.spark))
        names = ["sink"] if copies == 1 else [f"sink{i}" for i in range(copies)]
        run = Run("plain" if copies == 1 else f"plain x{copies}", seconds, cpu,
                  profile=_profile(self.spark, queries, names, first_job))
        for sink, _ in dirs:
            run.mismatches += self._sink_rows(sink)
            self._cleanup(sink)
        return run

    def spark_floor(self, contract: Any, kind: str) -> Run:
        """The same per-row checks written by hand in plain Spark, without dc43: what any
        implementation of a writer pays at least on this machine.

        ``observe``: the parquet sink with the per-row rules counted by ``DataFrame.observe``
        (the ``observe`` writer's aggregates). ``two queries``: the sink plus a ``foreachBatch``
        query running dc43's aggregation of every rule (what ``foreach-batch`` does, without
        verdicts). ``gate``: ``foreachBatch`` writing each batch
        with a bit mask of the per-row rules computed, counted by ``observe`` and used to keep
        the clean rows (the least a pre-commit gate evaluates), with no uniqueness, no
        verdicts and no rejection sink. ``gate+rejects``: the gate as one would write it by
        hand: each row flagged with the rules it breaks and persisted, one aggregation of every
        rule with exact uniqueness, the clean rows to the sink, the flagged rows with their
        rules to a rejection sink.
        """
        from dc43.quality import LocalDataQualityService
        from dc43.spark.metrics import FLAGS_COLUMN, compile_plan
        from dc43.spark.types import contract_struct
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        types = {f.name: f.dataType for f in contract_struct(contract).fields}
        plan = compile_plan(LocalDataQualityService().describe_expectations(contract=contract), types=types)
        sink, cp = self._dirs(f"spark-{kind}")
        first_job = _ungrouped_jobs(self.spark)
        cpu = cpu_seconds(self.spark)
        start = time.perf_counter()
        queries = []
        if kind == "observe":
            _, aggregations = plan.row_level
            query = (self.source(contract).observe("floor", *aggregations).writeStream.format("parquet")
                     .option("checkpointLocation", cp).trigger(availableNow=True).start(sink))
        elif kind == "two queries":
            def measure(batch_df: Any, batch_id: int) -> None:
                batch_df.agg(*plan.aggregations).collect()

            queries.append(self.source(contract).writeStream.format("parquet").option("checkpointLocation", cp)
                           .trigger(availableNow=True).start(sink))
            query = (self.source(contract).writeStream.foreachBatch(measure)
                     .option("checkpointLocation", cp + "_observer").trigger(availableNow=True).start())
        elif kind == "gate+rejects":
            totals = {}

            def gate_rejects(batch_df: Any, batch_id: int) -> None:
                flagged = plan.flag_frame(batch_df, [F.col(c) for c in batch_df.columns]).persist()
                try:
                    for key, value in plan.measure_flagged(flagged).items():
                        totals[key] = totals.get(key, 0) + value
                    rules = plan.error_rules(F.col(FLAGS_COLUMN))
                    split = flagged.withColumn("_rules", rules).drop(FLAGS_COLUMN)
                    (split.filter(F.size("_rules") == 0).drop("_rules").write.mode("overwrite")
                     .parquet(f"{sink}/batch={batch_id}"))
                    split.filter(F.size("_rules") > 0).write.mode("overwrite").parquet(f"{sink}_rejected/batch={batch_id}")
                finally:
                    flagged.unpersist()

            query = (self.source(contract).writeStream.foreachBatch(gate_rejects).option("checkpointLocation", cp)
                     .trigger(availableNow=True).start())
        else:
            mask = F.col("_mask")
            keys, aggregations = plan.mask_aggregations("_mask")
            totals: dict[str, int] = {}

            def gate(batch_df: Any, batch_id: int) -> None:
                observation = Observation()
                (batch_df.select("*", plan.flag_mask().alias("_mask")).observe(observation, *aggregations)
                 .filter(mask == 0).drop("_mask").write.mode("overwrite").parquet(f"{sink}/batch={batch_id}"))
                for key, value in zip(keys, observation.get.values()):
                    totals[key] = totals.get(key, 0) + value

            query = (self.source(contract).writeStream.foreachBatch(gate).option("checkpointLocation", cp)
                     .trigger(availableNow=True).start())
        queries.append(query)
        for each in queries:
            each.awaitTermination()
        seconds = time.perf_counter() - start
        cpu = _delta(cpu, cpu_seconds(self.spark))
        names = ["sink", "observer"] if len(queries) == 2 else ["sink"]
        run = Run(f"spark {kind}", seconds, cpu, profile=_profile(self.spark, queries, names, first_job)
                  + [_files(sink, sink + "_rejected")])
        if kind.startswith("gate") and not is_connect(self.spark):  # on Connect the totals stay on the server
            expected = expected_totals(contract, self.data, list(plan.expectations))
            wanted = keys if kind == "gate" else list(expected)
            run.mismatches = _compare({k: v for k, v in expected.items() if k in wanted}, totals)
        if kind == "gate+rejects":
            run.mismatches += self._sink_rows(sink, sink + "_rejected")
        self._cleanup(sink)
        return run

    def observe_only(self, contract: Any, *, unique: bool = True) -> Run:
        """Only the measuring: one aggregation per micro-batch in foreachBatch, no sink, no verdicts."""
        from dc43.quality.plan import expectations_for
        from dc43.spark.metrics import compile_plan

        plan = compile_plan([e for e in expectations_for(contract) if unique or e.rule != "unique"])
        totals: dict[str, int] = {}

        def measure(batch_df: Any, batch_id: int) -> None:
            for key, value in plan.measure(batch_df).items():
                totals[key] = totals.get(key, 0) + value

        variant = "observe-only" if unique else "observe-only -unique"
        _, cp = self._dirs(variant.replace(" ", ""))
        first_job = _ungrouped_jobs(self.spark)
        cpu = cpu_seconds(self.spark)
        start = time.perf_counter()
        query = (self.source(contract).writeStream.foreachBatch(measure)
                 .option("checkpointLocation", cp).trigger(availableNow=True).start())
        query.awaitTermination()
        seconds = time.perf_counter() - start
        cpu = _delta(cpu, cpu_seconds(self.spark))
        self._cleanup(cp)
        expected = expected_totals(contract, self.data, list(plan.expectations))
        checked = [] if is_connect(self.spark) else _compare(expected, totals)  # Connect: totals stay on the server
        return Run(variant, seconds, cpu, mismatches=checked,
                   profile=_profile(self.spark, [query], ["observer"], first_job))

    def dc43(self, contract: Any, writer: str, dq: Any = None, label: str | None = None,
             rejections: bool = False) -> Run:
        from dc43.contracts import LocalContractServiceClient
        from dc43.governance import LocalGovernanceService
        from dc43.quality import LocalDataQualityService
        from dc43_integrations.spark.io import write_stream_with_contract
        from dc43_memory.store import InMemoryContractStore

        store = InMemoryContractStore()
        store.put(contract)
        dq = dq or LocalDataQualityService()
        sink, cp = self._dirs(label or writer)
        df = self.source(contract)
        first_job = _ungrouped_jobs(self.spark)
        cpu = cpu_seconds(self.spark)
        start = time.perf_counter()
        result = write_stream_with_contract(
            df=df, contract_id=contract.id, expected_contract_version="==1.0.0",
            contract_service=LocalContractServiceClient(store), data_quality_service=dq,
            governance_service=LocalGovernanceService(os.path.dirname(sink) + "/governance.db"),
            format="parquet", path=sink,
            options={"checkpointLocation": cp}, trigger={"availableNow": True},
            observation_writer=writer, enforce=False,
            rejection_sink={"format": "parquet", "path": sink + "_rejected"} if rejections else None,
        )
        queries = list(result.details["streaming_queries"])
        for query in queries:
            query.awaitTermination()
        terminated = time.perf_counter()
        # A writer may judge a batch after its query ended (a listener runs asynchronously):
        # the write is done when every micro-batch that read rows has a verdict.
        batches = {p.batchId for q in queries for p in q.recentProgress if p.numInputRows}
        judged: set[int] = set()
        while time.perf_counter() < terminated + VERDICT_TIMEOUT:
            judged = {e["batch_id"] for e in result.details.get("streaming_batches", [])}
            if batches <= judged:
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        cpu = _delta(cpu, cpu_seconds(self.spark))
        lag = time.perf_counter() - terminated
        names = ["sink"] + [f"observer{i}" if len(queries) > 2 else "observer"
                            for i in range(1, len(queries))]
        profile = _profile(self.spark, queries, names, first_job)
        profile.append(f"verdicts: {len(judged)} of {len(batches)} micro-batches judged, "
                       f"the last {lag * 1000:.0f} ms after the queries ended")
        plan = dq.describe_expectations(contract=contract)
        unmeasured = {f"violations.{key}" for key in result.details.get("unmeasured", [])}
        mismatches = _compare(expected_totals(contract, self.data, plan),
                              result.details.get("streaming_totals", {}), unmeasured=unmeasured,
                              notes=profile)
        if not batches <= judged:
            mismatches.append(f"micro-batches {sorted(batches - judged)} have no verdict "
                              f"{VERDICT_TIMEOUT:.0f} s after the queries ended")
        mismatches += self._sink_rows(sink, sink + "_rejected")
        profile.append(_files(sink, sink + "_rejected"))
        kept = [e["keys_kept"] for e in result.details.get("streaming_batches", []) if e.get("keys_kept")]
        if kept:  # as the last batch was judged (before its own keys were kept)
            profile.append("key history: " + ", ".join(f"{rule} {size['keys']:,} keys, {size['bytes']:,} bytes"
                                                       for rule, size in kept[-1].items()))
        run = Run(label or writer, seconds, cpu, mismatches=mismatches, profile=profile)
        self._cleanup(sink)
        return run


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _compare(expected: Mapping[str, int], actual: Mapping[str, Any], *, unmeasured: set[str] = frozenset(),
             notes: list[str] | None = None) -> list[str]:
    """Mismatches between expected and reported totals; ``unmeasured`` keys only go to ``notes``."""
    problems = []
    for key in sorted(set(expected) | {k for k in actual if k.startswith("violations.")}):
        want, got = expected.get(key, 0), int(actual.get(key, 0) or 0)
        if key in unmeasured:
            if notes is not None:
                notes.append(f"{key} is not measured by this writer (injected {want})")
        elif want != got or key not in actual:
            problems.append(f"{key}: expected {want}, reported {actual.get(key, 'nothing')}")
    return problems


def _files(*folders: str) -> str:
    """How many data files the sinks hold (a hint at the per-file cost of a write)."""
    counts = []
    for folder in folders:
        n = sum(1 for root, _, names in os.walk(folder) for name in names
                if not name.startswith((".", "_")) and "_dc43_staging" not in root)
        if os.path.exists(folder):
            counts.append(f"{os.path.basename(folder)}={n}")
    return "data files: " + (", ".join(counts) or "none")


def _job_ms(spark: Any, job_id: int) -> tuple[int, int, int, tuple[int, int] | None]:
    """A finished job's wall time, its tasks' CPU time (ms), its task count (0 when unknown) and
    its (start, end) epoch milliseconds.

    Read from Spark's status store, a JVM internal: profiling is best effort.
    """
    wall = cpu = tasks = 0
    span = None
    try:
        store = spark.sparkContext._jsc.sc().statusStore()
        job = store.job(job_id)
        tasks = int(job.numTasks())
        if job.submissionTime().isDefined() and job.completionTime().isDefined():
            span = (int(job.submissionTime().get().getTime()), int(job.completionTime().get().getTime()))
            wall = span[1] - span[0]
        stages = job.stageIds()
        for i in range(stages.size()):
            try:
                cpu += int(store.lastStageAttempt(stages.apply(i)).executorCpuTime()) // 1_000_000
            except Exception:
                pass
    except Exception:
        pass
    return wall, cpu, tasks, span


def _busy_ms(spans: list[tuple[int, int] | None]) -> int:
    """Milliseconds during which at least one of the jobs ran (jobs on two threads overlap)."""
    busy, end = 0, None
    for start, stop in sorted(s for s in spans if s):
        if end is None or start > end:
            busy, end = busy + stop - start, stop
        elif stop > end:
            busy, end = busy + stop - end, stop
    return busy


#: the Spark Connect server's JVM, when --connect started one
CONNECT_SERVER_PID: int | None = None


def _process_cpu(pid: int, children: bool) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds(spark: Any) -> float | None:
    """CPU time used so far by the Spark JVM (driver and local executors) and this Python process.

    On Spark Connect: the server's JVM and the foreachBatch workers it started and reaped.
    """
    try:
        if is_connect(spark):
            jvm = _process_cpu(CONNECT_SERVER_PID, children=True) if CONNECT_SERVER_PID else None
        else:
            jvm = _process_cpu(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid(), children=False)
    except Exception:  # not Linux, or no /proc
        return None
    return None if jvm is None else jvm + time.process_time()


def _ungrouped_jobs(spark: Any) -> set[int]:
    if is_connect(spark):
        return set()
    return set(spark.sparkContext.statusTracker().getJobIdsForGroup(None))


def _profile(spark: Any, queries: list[Any], names: list[str], ungrouped_before: set[int]) -> list[str]:
    """Per query: micro-batches, summed durationMs, and the Spark jobs it ran.

    A streaming query runs its micro-batches under the job group ``str(runId)``.
    ``driver-ms``: the time of ``addBatch`` (the sink's write, or the ``foreachBatch`` function)
    during which none of the query's jobs ran: planning, py4j calls, commits, renames.
    """
    tracker = None if is_connect(spark) else spark.sparkContext.statusTracker()
    lines = []
    for name, query in zip(names, queries):
        progress = [p for p in query.recentProgress if p.numInputRows]
        durations: dict[str, int] = {}
        for p in progress:
            for key, value in (p.durationMs or {}).items():
                durations[key] = durations.get(key, 0) + int(value)
        own = tracker.getJobIdsForGroup(str(query.runId)) if tracker else []
        timings = [_job_ms(spark, j) for j in own]
        lines.append(
            f"{name:<9} batches={len(progress):<3} jobs={len(own) if tracker else '-':<3} "
            f"tasks={sum(t[2] for t in timings):<4} job-ms={sum(t[0] for t in timings):<6} "
            f"task-cpu-ms={sum(t[1] for t in timings):<6} "
            + (f"driver-ms={durations.get('addBatch', 0) - _busy_ms([t[3] for t in timings])} " if tracker else "")
            + f"triggerExecution={durations.get('triggerExecution', 0)}ms "
            f"addBatch={durations.get('addBatch', 0)}ms "
            f"queryPlanning={durations.get('queryPlanning', 0)}ms "
            f"latestOffset+getBatch={durations.get('latestOffset', 0) + durations.get('getBatch', 0)}ms "
            f"walCommit+commitOffsets={durations.get('walCommit', 0) + durations.get('commitOffsets', 0)}ms")
    other = _ungrouped_jobs(spark) - ungrouped_before
    if other:
        lines.append(f"jobs outside the queries' groups: {len(other)} "
                     f"({sum(_job_ms(spark, j)[0] for j in other)} ms)")
    return lines


# -- reporting ------------------------------------------------------------------
def _median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def _median_cpu(runs: list[Run]) -> float | None:
    cpu = [r.cpu for r in runs if r.cpu is not None]
    return statistics.median(cpu) if cpu else None


def _report(timed: dict[str, list[Run]], baseline: str, targets: Mapping[str, float]) -> None:
    base = _median(timed[baseline])
    header = f"ratio vs {baseline}"
    width = max(15, len(header))
    base_cpu = _median_cpu(timed[baseline])
    print(f"{'variant':<20} | {'median s':>8} | {header:>{width}} | {'target':>7} | {'':4} | "
          f"{'cpu s':>6} | {'cpu ratio':>9} | runs (s)")
    print("-" * (91 + width))
    for variant, runs in timed.items():
        median = _median(runs)
        ratio = median / base
        target = targets.get(variant)
        verdict = "" if target is None else ("PASS" if ratio <= target else "MISS")
        target_text = f"<={target:.2f}x" if target is not None else "-"
        cpu = _median_cpu(runs)
        cpu_text = f"{cpu:6.1f} | {cpu / base_cpu:8.2f}x" if cpu is not None and base_cpu else f"{'-':>6} | {'-':>9}"
        print(f"{variant:<20} | {median:8.2f} | {ratio:{width - 1}.2f}x | {target_text:>7} | {verdict:4} | "
              f"{cpu_text} | " + ", ".join(f"{r.seconds:.2f}" for r in runs))


def _check_counts(runs: list[Run]) -> bool:
    bad = [r for r in runs if r.mismatches]
    print(f"counts exact: {'yes' if not bad else 'no'} ({len(runs)} runs checked: every violation "
          "total vs the injected count, and the sink's row count)")
    for run in bad:
        for problem in run.mismatches:
            print(f"  {run.variant}: {problem}")
    return not bad


def _rounds(label: str, variants: list[tuple[str, Callable[[], Run]]], repeats: int) -> dict[str, list[Run]]:
    print(f"\n{label}: 1 untimed warm-up round, then {repeats} timed round(s) of "
          + ", ".join(name for name, _ in variants), flush=True)
    timed: dict[str, list[Run]] = {name: [] for name, _ in variants}
    for round_no in range(repeats + 1):
        tag = "warm-up" if round_no == 0 else f"round {round_no}"
        for name, run_one in variants:
            run = run_one()
            cpu = "" if run.cpu is None else f"  cpu {run.cpu:6.1f} s"
            print(f"  {tag:<8} {name:<20} {run.seconds:7.2f} s{cpu}  load {os.getloadavg()[0]:4.1f}"
                  + ("" if not run.mismatches else f"  ({len(run.mismatches)} count mismatch(es))"),
                  flush=True)
            if round_no:
                timed[name].append(run)
    return timed


def _java_version() -> str:
    import subprocess

    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        return (out.stderr or out.stdout).splitlines()[0].strip()
    except Exception:
        return "unknown"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None, help="rows to generate (default 2000000)")
    parser.add_argument("--files", type=int, default=20, help="parquet files (default 20)")
    parser.add_argument("--files-per-trigger", type=int, default=2,
                        help="maxFilesPerTrigger (default 2: 20 files -> 10 micro-batches)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (default 3)")
    parser.add_argument("--workdir", default=None,
                        help="folder for data and sinks (a temporary folder is created in it)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200000 rows, 1 round")
    parser.add_argument("--profile", action="store_true",
                        help="also time 'observe-only' (the aggregation alone, in foreachBatch, no sink), "
                             "the same without the uniqueness rule, and two plain sinks at once")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 9 vs 50 expectations run")
    parser.add_argument("--only", default=None,
                        help="comma-separated variants to time beside plain (e.g. 'inline+rejects,spark gate')")
    parser.add_argument("--connect", action="store_true",
                        help="start a Spark Connect server (local[2]) and run every variant as its client")
    args = parser.parse_args(argv)
    args.rows = args.rows or (200_000 if args.quick else 2_000_000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    if args.rows < args.files:
        parser.error("--rows must be at least --files")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from dc43.plugins import get_plugin_manager
    from dc43.quality import LocalDataQualityService

    writers = sorted(get_plugin_manager().observation_writers())
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="dc43-bench-", dir=args.workdir)
    os.environ["DC43_STATE_DIR"] = os.path.join(workdir, "state")  # key histories go with the work folder
    command = " ".join([os.path.basename(sys.executable), *sys.argv])
    started = datetime.datetime.now(datetime.timezone.utc)
    global CONNECT_SERVER_PID
    server = None
    if args.connect:
        sys.path.insert(0, REPO)
        from tests.topologies import ConnectServer  # the test suite's server, started from the wheel

        server = ConnectServer(jars=[]).start()
        CONNECT_SERVER_PID = server.server.process.pid
    spark = make_spark(server.url if server else None)
    try:
        import pyspark

        print("dc43 streaming overhead benchmark")
        print(f"date: {started:%Y-%m-%d %H:%M} UTC   command: {command}")
        print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, "
              f"pyspark {pyspark.__version__}, {_java_version()}, master local[2]"
              + (f" behind a Spark Connect server ({server.url})" if server else ""))
        print(f"observation writers in the plugin catalogue: {', '.join(writers) or 'none'}")
        print("load = the machine's 1-minute load average after each run (above 2 on 2 cores: other work "
              "competed); cpu = CPU seconds the Spark JVM and this Python process used during the run")

        t0 = time.perf_counter()
        data = generate(spark, os.path.join(workdir, "source"), args.rows, args.files)
        n_files = len([f for f in os.listdir(data.path) if f.endswith(".parquet")])
        batches = -(-n_files // args.files_per_trigger)
        print(f"\ndata: {data.rows:,} rows in {n_files} parquet files ({time.perf_counter() - t0:.1f} s to "
              f"generate), maxFilesPerTrigger={args.files_per_trigger} -> {batches} micro-batches")
        print("injected (one broken rule per row, id % 1000 == residue):")
        for residue, text in INJECTED.items():
            note = ""
            if residue == DUPLICATE_ORDER_ID and data.unbroken_duplicates:
                note = f" ({data.unbroken_duplicates} left clean: first row of a file)"
            print(f"  {residue}: {text:<42} {data.count(residue):>7,} rows{note}")

        c9, c50 = contract_9(), contract_50()
        n9, n50 = (len(LocalDataQualityService().describe_expectations(contract=c)) for c in (c9, c50))
        print(f"contracts: {c9.id} has {n9} expectations, {c50.id} has {n50}")
        for key in (e.key for e in LocalDataQualityService().describe_expectations(contract=c9)):
            print(f"  {key}")

        bench = Bench(spark, data, workdir, args.files_per_trigger)
        variants: list[tuple[str, Callable[[], Run]]] = [("plain", lambda: bench.plain(c9))]
        variants += [(w, lambda w=w: bench.dc43(c9, w)) for w in writers]
        if "inline" in writers:
            variants.append(("inline+rejects", lambda: bench.dc43(c9, "inline", label="inline+rejects",
                                                                rejections=True)))
        variants += [("spark two queries", lambda: bench.spark_floor(c9, "two queries")),
                     ("spark observe", lambda: bench.spark_floor(c9, "observe")),
                     ("spark gate", lambda: bench.spark_floor(c9, "gate")),
                     ("spark gate+rejects", lambda: bench.spark_floor(c9, "gate+rejects"))]
        if args.profile:
            variants += [("observe-only", lambda: bench.observe_only(c9)),
                         ("observe-only -unique", lambda: bench.observe_only(c9, unique=False)),
                         ("plain x2", lambda: bench.plain(c9, copies=2))]
        if args.only:
            wanted = {"plain", *(name.strip() for name in args.only.split(","))}
            unknown = wanted - {name for name, _ in variants}
            if unknown:
                raise SystemExit(f"--only: unknown variant(s) {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(name for name, _ in variants)}")
            variants = [(name, run) for name, run in variants if name in wanted]
        timed = _rounds("overhead", variants, args.repeats)

        print(f"\n== overhead: {data.rows:,} rows, {batches} micro-batches, {n9} expectations, "
              f"median of {args.repeats} ==")
        _report(timed, "plain", TARGETS)
        ok = _check_counts([r for runs in timed.values() for r in runs])
        print("\nprofile of the last timed run (durations summed over micro-batches; "
              "jobs = Spark jobs in the query's job group):")
        for name, runs in timed.items():
            print(f"  {name}:")
            for line in runs[-1].profile:
                print(f"    {line}")

        if not args.no_scaling:
            from dc43.spark.io import DEFAULT_OBSERVATION_WRITER as default

            scaled = _rounds(
                f"scaling ({default} writer)",
                [(f"{n9} expectations", lambda: bench.dc43(c9, default, label="exp9")),
                 (f"{n50} expectations", lambda: bench.dc43(c50, default, label="exp50")),
                 (f"spark {n9}", lambda: bench.spark_floor(c9, "two queries")),
                 (f"spark {n50}", lambda: bench.spark_floor(c50, "two queries"))],
                args.repeats)
            print(f"\n== scaling: {default} writer, {n9} vs {n50} expectations, median of {args.repeats} ==")
            _report(scaled, f"{n9} expectations", {f"{n50} expectations": SCALING_TARGET})
            floor = _median(scaled[f"spark {n50}"]) / _median(scaled[f"spark {n9}"])
            print(f"plain Spark running the same aggregation (sink + foreachBatch query, no dc43): "
                  f"{n50} / {n9} expectations = {floor:.2f}x")
            ok = _check_counts([r for runs in scaled.values() for r in runs]) and ok
        print(f"\ntotal time {time.perf_counter() - t0:.0f} s; timings are informational, never asserted")
        return 0 if ok else 1
    finally:
        spark.stop()
        if server:
            server.stop()
        if args.keep:
            print(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
