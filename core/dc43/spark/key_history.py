"""Keys across micro-batches, where the batches are judged (:mod:`dc43.quality.across`).

Before a batch is measured, :meth:`KeyHistory.mark` collects its keys (one job, no
shuffle) and groups them, asks the query's :class:`~dc43.key_index.KeyIndex` which an earlier batch
published, and adds a boolean column per ``unique_across`` rule, TRUE on a row with such
a key: the compiled plan counts it and the inline gate routes it like any per-row rule.
The column is a literal FALSE when no key was seen before (the usual case); otherwise the
seen keys are joined in, broadcast.  Once the batch is published, :meth:`KeyHistory.publish`
keeps its new keys (under a rejection sink, only those of rows it published).
"""

from __future__ import annotations

import datetime
import decimal
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dc43.key_index import KeyIndex
from dc43.quality.plan import Expectation
from dc43.spark.checkpoints import QueryHistory


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, Mapping) or hasattr(value, "asDict"):
        return {str(k): _plain(v) for k, v in (value if isinstance(value, Mapping) else value.asDict()).items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def key_text(values: Sequence[Any]) -> str:
    """How a key is stored: its values as JSON (same column types give the same text)."""
    return json.dumps([_plain(v) for v in values], separators=(",", ":"), sort_keys=True)


@attrs.frozen
class Marks:
    """What :meth:`KeyHistory.mark` found in one batch, for :meth:`KeyHistory.publish`."""

    batch_id: int
    now: float
    #: rule key -> the keys no earlier batch published: (text, newest event time, whether a row is clean)
    fresh: Mapping[str, Sequence[tuple[str, int | None, bool]]]
    #: rule key -> the batch's newest event time (event-time horizons)
    newest: Mapping[str, int | None]


class KeyHistory(QueryHistory):
    """The ``unique_across`` rules of one write and where their index lives; picklable.

    The index file of a query is named by the dataset, the checkpoint and the id of the query
    Spark keeps there.
    """

    kind = "keys"
    rules: tuple[Expectation, ...]

    def index(self, spark: Any) -> KeyIndex:
        if self._index is None:
            self._index = KeyIndex(self._file(spark))
        return self._index

    def mark(self, batch_df: Any, batch_id: int, columns: Mapping[str, Any], clean: Any = None) -> tuple[Any, Marks]:
        """``batch_df`` with a :func:`~dc43.spark.metrics.seen_column` per rule, and what it found.

        ``columns``: the aligned expressions the keys are read through; ``clean``: TRUE on a row
        the write publishes (breaking no other error rule), when rows are routed.
        """
        from pyspark.sql import functions as F

        from dc43.spark.metrics import seen_column

        index, now = self.index(batch_df.sparkSession), time.time()
        fresh: dict[str, list[tuple[str, int | None, bool]]] = {}
        newest: dict[str, int | None] = {}
        marked = batch_df
        for rule in self.rules:
            keys, texts, schema = self._distinct_keys(batch_df, rule, columns, clean)
            found = index.seen(rule.key, list(texts), batch_id, rule.params["horizon"], now=now)
            fresh[rule.key] = [(text, row[len(keys)], bool(row[len(keys) + 1]))
                               for text, row in texts.items() if text not in found]
            events = [row[len(keys)] for row in texts.values() if row[len(keys)] is not None]
            newest[rule.key] = max(events) if events else None
            flag = seen_column(rule.key)
            if not found:
                marked = marked.withColumn(flag, F.lit(False))
                continue
            names = [f"_dc43_k{n}" for n in range(len(keys))]
            known = batch_df.sparkSession.createDataFrame([tuple(texts[t][:len(keys)]) for t in found], schema)
            known = known.select(*names, F.lit(True).alias(flag))
            on = [key.eqNullSafe(known[name]) for key, name in zip(keys, names, strict=True)]
            marked = (marked.join(F.broadcast(known), on=on, how="left").drop(*names)
                      .withColumn(flag, F.coalesce(F.col(f"`{flag}`"), F.lit(False))))
        return marked, Marks(batch_id=batch_id, now=now, fresh=fresh, newest=newest)

    def _distinct_keys(self, batch_df: Any, rule: Expectation, columns: Mapping[str, Any],
                       clean: Any) -> tuple[list[Any], dict[str, tuple[Any, ...]], Any]:
        """The key columns, the batch's distinct complete keys by their text (each with its newest
        event time and whether any of its rows is clean) and the keys' schema.

        The key columns are collected as they are and grouped here: grouping in Spark would
        shuffle every batch into ``spark.sql.shuffle.partitions`` tasks.
        """
        from pyspark.sql import functions as F
        from pyspark.sql.types import StructType

        from dc43.spark.metrics import balanced, column_for

        keys = [column_for(path, columns) for path in rule.params["columns"]]
        names = [f"_dc43_k{n}" for n in range(len(keys))]
        event_column = rule.params["horizon"].get("event_time")
        event = (F.unix_micros(column_for(event_column, columns).cast("timestamp")) if event_column
                 else F.lit(None).cast("bigint"))
        complete = balanced(lambda a, b: a & b, [key.isNotNull() for key in keys])
        published = F.lit(True) if clean is None else clean
        selected = batch_df.where(complete).select(*[key.alias(name) for key, name in zip(keys, names, strict=True)],
                                                   event.alias("_dc43_e"), published.alias("_dc43_c"))
        grouped: dict[str, list[Any]] = {}
        width = len(keys)
        for row in selected.collect():
            values = tuple(row[:width])
            found = grouped.setdefault(key_text(values), [*values, None, False])
            if row[width] is not None and (found[width] is None or row[width] > found[width]):
                found[width] = row[width]
            found[width + 1] = found[width + 1] or bool(row[width + 1])
        schema = StructType([selected.schema[name] for name in names])
        return keys, {text: tuple(found) for text, found in grouped.items()}, schema

    def publish(self, marks: Marks, *, clean_only: bool = False) -> None:
        """Keep the new keys of a published batch (``clean_only``: of the rows it published)."""
        index = self._index
        if index is None:
            return
        for rule in self.rules:
            keys = [(text, event) for text, event, clean in marks.fresh.get(rule.key, ()) if clean or not clean_only]
            index.publish(rule.key, keys, marks.batch_id, rule.params["horizon"], now=marks.now,
                          max_event=marks.newest.get(rule.key))
