"""Databricks Labs DQX as a benchmark peer: the contract's rules as DQX checks in ``foreachBatch``.

``run(bench, contract, mode)`` streams ``stream_overhead``'s source (``availableNow``) through
``foreachBatch`` with one ``DQEngine`` per process and the 9 rules of
``stream_overhead.base_properties()`` written as DQX metadata checks (``CHECKS``, all ``error``):

* ``split``: ``apply_checks_by_metadata_and_split``; the valid rows to ``<sink>/batch=<id>``, the
  invalid ones with DQX's ``_errors``/``_warnings`` to ``<sink>_rejected/batch=<id>``. The two
  frames DQX returns each evaluate the checks (the split API offers no frame to cache);
* ``flag``: ``apply_checks_by_metadata``; every row with DQX's result columns to the sink.

It is timed like ``Bench.spark_floor``; the sinks are read back afterwards, untimed, and compared
with the injected counts in DQX's semantics (``expected``): ``is_unique`` (per micro-batch, nulls
distinct) flags both rows of a repeated ``order_id``, and ``regex_match`` lets a null pass, where
dc43 counts one ``unique`` violation per repeated row and a null ``customer_id`` as a regex one too.

Install: ``pip install 'databricks-labs-dqx==0.17.0'`` (it pulls ``databricks-sdk`` and requires
``protobuf<7``). DQX runs on open-source Spark in local mode without any Spark conf; its workspace
client is ``MagicMock(spec=WorkspaceClient)``, which absorbs DQX's telemetry calls (DQX still runs
``explain(True)`` on every micro-batch for them: part of its cost).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import stream_overhead as so

DQX_VERSION = version("databricks-labs-dqx")  # PackageNotFoundError, an ImportError, when absent
ERRORS = "_errors"


def _check(name: str, function: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "criticality": "error", "check": {"function": function, "arguments": arguments}}


CHECKS = [
    _check("order_id_is_null", "is_not_null", column="order_id"),
    _check("order_id_is_not_unique", "is_unique", columns=["order_id"]),
    _check("customer_id_is_null", "is_not_null", column="customer_id"),
    _check("customer_id_no_match", "regex_match", column="customer_id", regex=so.CUSTOMER_REGEX),
    _check("amount_below_0", "is_not_less_than", column="amount", limit=0),
    _check("amount_above_100000", "is_not_greater_than", column="amount", limit=100000),
    # is_in_list reads a bare string as a column expression: the literals are quoted
    _check("currency_not_in_list", "is_in_list", column="currency", allowed=["'EUR'", "'USD'", "'GBP'"]),
    _check("email_no_match", "regex_match", column="email", regex=so.EMAIL_REGEX),
    _check("created_at_is_null", "is_not_null", column="created_at"),
]


@functools.cache
def engine(spark: Any) -> Any:
    """The process's ``DQEngine`` on ``spark``, with a mocked workspace client."""
    from unittest.mock import MagicMock

    from databricks.labs.dqx.engine import DQEngine
    from databricks.sdk import WorkspaceClient

    return DQEngine(MagicMock(spec=WorkspaceClient), spark=spark)


def _split(dq: Any, sink: str) -> Callable[[Any, int], None]:
    def write(batch_df: Any, batch_id: int) -> None:
        valid, invalid = dq.apply_checks_by_metadata_and_split(batch_df, CHECKS)
        valid.write.mode("overwrite").parquet(f"{sink}/batch={batch_id}")
        invalid.write.mode("overwrite").parquet(f"{sink}_rejected/batch={batch_id}")

    return write


def _flag(dq: Any, sink: str) -> Callable[[Any, int], None]:
    def write(batch_df: Any, batch_id: int) -> None:
        dq.apply_checks_by_metadata(batch_df, CHECKS).write.mode("overwrite").parquet(f"{sink}/batch={batch_id}")

    return write


def expected(data: so.Dataset) -> dict[str, int]:
    """Rows, invalid rows and rows per check that DQX must report for ``data``."""
    c = data.count
    repeated = c(so.DUPLICATE_ORDER_ID) - data.unbroken_duplicates
    return {
        "rows": data.rows,
        "invalid rows": sum(c(residue) for residue in so.INJECTED) - data.unbroken_duplicates,
        "order_id_is_null": c(so.NULL_ORDER_ID),
        # the repeated row and the row before it (a null-customer row, invalid anyway)
        "order_id_is_not_unique": 2 * repeated,
        "customer_id_is_null": c(so.NULL_CUSTOMER),
        "customer_id_no_match": c(so.BAD_CUSTOMER),  # a null passes regex_match
        "amount_below_0": c(so.NEGATIVE_AMOUNT),
        "amount_above_100000": c(so.HUGE_AMOUNT),
        "currency_not_in_list": c(so.BAD_CURRENCY),
        "email_no_match": c(so.BAD_EMAIL),
        "created_at_is_null": c(so.NULL_CREATED_AT),
    }


def observed(spark: Any, sink: str) -> dict[str, int]:
    """The same counts read back from the sinks (the one with ``_errors``: the quarantine or the flag sink)."""
    from pyspark.sql import functions as F

    frames = [spark.read.parquet(path) for path in (sink, sink + "_rejected") if os.path.exists(path)]
    checked = next(frame for frame in frames if ERRORS in frame.columns)
    per_check = checked.select(F.explode(f"{ERRORS}.name").alias("check")).groupBy("check").count().collect()
    return {"rows": sum(frame.count() for frame in frames),
            "invalid rows": checked.filter(F.col(ERRORS).isNotNull()).count(),
            **{row["check"]: row["count"] for row in per_check}}


def _compare(want: dict[str, int], got: dict[str, int]) -> list[str]:
    return [f"{key}: expected {want.get(key, 0):,}, DQX reported {got.get(key, 0):,}"
            for key in {**want, **got} if want.get(key, 0) != got.get(key, 0)]


def run(bench: so.Bench, contract: Any, mode: str) -> so.Run:
    """One timed streaming write through DQX: ``mode`` is ``split`` or ``flag``."""
    writers = {"split": _split, "flag": _flag}
    if mode not in writers:
        raise ValueError(f"mode must be one of {', '.join(writers)}, not {mode!r}")
    sink, cp = bench._dirs(f"dqx-{mode}")
    write = writers[mode](engine(bench.spark), sink)
    first_job = so._ungrouped_jobs(bench.spark)
    cpu = so.cpu_seconds(bench.spark)
    start = time.perf_counter()
    query = (bench.source(contract).writeStream.foreachBatch(write).option("checkpointLocation", cp)
             .trigger(availableNow=True).start())
    query.awaitTermination()
    seconds = time.perf_counter() - start
    cpu = so._delta(cpu, so.cpu_seconds(bench.spark))
    profile = so._profile(bench.spark, [query], ["sink"], first_job) + [so._files(sink, sink + "_rejected")]
    want, got = expected(bench.data), observed(bench.spark, sink)
    repeated = want["order_id_is_not_unique"] // 2
    profile += [
        f"DQX {DQX_VERSION}, {len(CHECKS)} checks: {got['rows'] - got['invalid rows']:,} rows valid, "
        f"{got['invalid rows']:,} {'quarantined' if mode == 'split' else 'with _errors'}",
        "rows per check: " + ", ".join(f"{c['name']} {got.get(c['name'], 0):,}" for c in CHECKS),
        f"is_unique flags both rows of each of the {repeated:,} repeated order_ids "
        f"({2 * repeated:,}; dc43's unique:order_id: {repeated:,}); regex_match passes the "
        f"{want['customer_id_is_null']:,} null customer_ids (dc43's regex:customer_id counts them)",
    ]
    result = so.Run(f"dqx {mode}", seconds, cpu, mismatches=_compare(want, got), profile=profile)
    bench._cleanup(sink)
    return result
