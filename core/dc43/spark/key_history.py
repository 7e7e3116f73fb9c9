"""Keys across micro-batches, where the batches are judged (:mod:`dc43.quality.across`).

:meth:`KeyHistory.look` collects a batch's keys as Arrow (one job, no shuffle): per row,
Spark's ``xxhash64`` of the key, the key's columns and its event time.  numpy counts them into
the batch's distinct keys once sorted by hash (pyarrow groups only keys sharing a hash), and
the query's :class:`~dc43.key_index.KeyIndex` finds, in bulk, those an earlier batch published;
how many rows carry them is the rule's count.  Where
no row is routed by its key (no rejection sink), that is all: the lookup runs beside the
measuring and each rule's :func:`~dc43.spark.metrics.seen_column` is a literal FALSE.  Under
a rejection sink, :meth:`KeyHistory.marked` flags the rows: FALSE when no key was seen before
(the usual case), else the seen keys are joined in, broadcast, so the gate routes them like
any per-row rule.  Once the batch is published, :meth:`KeyHistory.publish` keeps its new keys
(under a rejection sink, only those of rows it published).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from dc43.key_index import EVENT, HASH, KeyIndex
from dc43.quality.plan import ROW_COUNT, Expectation
from dc43.spark.checkpoints import QueryHistory

#: how many rows of the batch carry a key
ROWS = "n"
#: how many of those rows a gate publishes (keys read back from its staged rows)
PUBLISHED = "p"
#: the prefix of the seen keys' columns while they are joined to the batch
JOINED = "_dc43_key_"


@attrs.frozen
class Marks:
    """What :meth:`KeyHistory.mark` found in one batch, for :meth:`KeyHistory.publish`."""

    batch_id: int
    now: float
    #: rule key -> the distinct keys no earlier batch published (Arrow: hash, key columns, event time, rows)
    fresh: Mapping[str, Any]
    #: rule key -> the batch's newest event time (event-time horizons)
    newest: Mapping[str, int | None]
    #: rule key -> the distinct keys an earlier batch published, for the rules that saw any
    seen: Mapping[str, Any]
    #: rule metric -> how many rows carry a key an earlier batch published
    repeats: Mapping[str, int]
    #: rule key -> how many rows have a complete key, and how many distinct keys they carry
    distinct: Mapping[str, tuple[int, int]]
    #: whether ``fresh`` says how many rows of each key are published (:data:`PUBLISHED`)
    routed: bool = False

    def counted(self, metrics: Mapping[str, Any], keyed: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
        """``metrics`` with what the keys tell: each ``unique_across`` rule's rows carrying a key an
        earlier batch published, and the surplus of the set-level rules ``keyed`` names
        (:meth:`~dc43.spark.metrics.CompiledPlan.keyed_set_level`): rows beyond the distinct keys,
        of those with a complete key (``unique``) or of every row (``primary_key``)."""
        counted = {**metrics, **self.repeats}
        for metric, (rule, across) in keyed.items():
            rows, distinct = self.distinct[across]
            counted[metric] = (rows if rule == "unique" else int(metrics[ROW_COUNT])) - distinct
        return counted


class KeyHistory(QueryHistory):
    """The ``unique_across`` rules of one write and where their index lives; picklable.

    The index folder of a query is named by the dataset, the checkpoint and the id of the query
    Spark keeps there.  A query whose keys an earlier dc43 kept in SQLite (``<name>.db``) has
    them converted at its first batch (:mod:`dc43.spark.key_legacy`).
    """

    kind = "keys"
    rules: tuple[Expectation, ...]
    #: the SQLite file an earlier dc43 kept this query's keys in, until they are converted
    _legacy: Path | None = None

    def __init__(self, rules: Any, **where: Any) -> None:
        super().__init__(rules, **where)
        self._schemas: dict[str, Any] = {}  # rule key -> the key columns' types

    def index(self, spark: Any) -> KeyIndex:
        if self._index is None:
            path = self._file(spark)
            self._index = KeyIndex(path.with_suffix("") if path else None)
            self._legacy = path if path is not None and path.exists() else None
        return self._index

    def sizes(self) -> dict[str, dict[str, int]]:
        """Per rule: the keys the index keeps and the bytes they take."""
        return self._index.sizes() if self._index is not None else {}

    def unmarked(self, batch_df: Any) -> Any:
        """``batch_df`` with each rule's :func:`~dc43.spark.metrics.seen_column` FALSE: for a batch whose
        repeats are counted from its keys (:attr:`Marks.repeats`), not row by row."""
        from pyspark.sql import functions as F

        from dc43.spark.metrics import seen_column

        return batch_df.withColumns({seen_column(rule.key): F.lit(False) for rule in self.rules})

    def look(self, batch_df: Any, batch_id: int, columns: Mapping[str, Any], *, published: Any = None) -> Marks:
        """The batch's keys and which of them an earlier batch published (one job, no Spark column
        added); ``columns``: the aligned expressions the keys are read through; ``published``: a
        boolean column, TRUE on a row the gate publishes (only keys it publishes are kept)."""
        import pyarrow.compute as pc

        index, now = self.index(batch_df.sparkSession), time.time()
        fresh: dict[str, Any] = {}
        seen: dict[str, Any] = {}
        newest: dict[str, int | None] = {}
        repeats: dict[str, int] = {}
        counts: dict[str, tuple[int, int]] = {}
        for rule in self.rules:
            keys = self._key(batch_df, rule, columns)
            if self._legacy is not None:
                from dc43.spark.key_legacy import convert

                convert(batch_df.sparkSession, self._legacy, index, rule, keys)
            distinct = keys.distinct(batch_df, published=published)
            hits = index.seen(rule.key, distinct, batch_id, rule.params["horizon"], now=now)
            newest[rule.key] = pc.max(distinct.column(EVENT)).as_py()
            counts[rule.key] = (int(pc.sum(distinct.column(ROWS)).as_py() or 0), distinct.num_rows)
            repeats[rule.metric] = 0
            fresh[rule.key] = distinct
            if hits.any():
                seen[rule.key] = distinct.filter(hits)
                fresh[rule.key] = distinct.filter(~hits)
                repeats[rule.metric] = int(pc.sum(seen[rule.key].column(ROWS)).as_py())
        if self._legacy is not None:  # every rule converted
            self._legacy.rename(self._legacy.with_name(self._legacy.name + ".converted"))
            self._legacy = None
        return Marks(batch_id=batch_id, now=now, fresh=fresh, newest=newest, seen=seen, repeats=repeats,
                     distinct=counts, routed=published is not None)

    def _key(self, batch_df: Any, rule: Expectation, columns: Mapping[str, Any]) -> KeyColumns:
        keys = KeyColumns.of(batch_df, rule, columns, self._schemas.get(rule.key))
        self._schemas[rule.key] = keys.raw_schema  # a query's batches share their schema
        return keys

    def mark(self, batch_df: Any, batch_id: int, columns: Mapping[str, Any]) -> tuple[Any, Marks]:
        """``batch_df`` with a :func:`~dc43.spark.metrics.seen_column` per rule, TRUE on a row whose key
        an earlier batch published, and what :meth:`look` found."""
        marks = self.look(batch_df, batch_id, columns)
        return self.marked(batch_df, marks, columns), marks

    def marked(self, batch_df: Any, marks: Marks, columns: Mapping[str, Any]) -> Any:
        """``batch_df`` with the rows whose keys ``marks`` saw before flagged: the seen keys joined in,
        broadcast, for the rules that saw any; a literal FALSE for the others."""
        from pyspark.sql import functions as F

        from dc43.spark.metrics import seen_column

        marked = batch_df.drop(*(seen_column(rule.key) for rule in self.rules))
        for rule in self.rules:
            flag = seen_column(rule.key)
            if rule.key not in marks.seen:
                marked = marked.withColumn(flag, F.lit(False))
                continue
            keys = self._key(batch_df, rule, columns)
            known = keys.frame(batch_df.sparkSession, marks.seen[rule.key]).withColumn(flag, F.lit(True))
            joined = [JOINED + name for name in (HASH, *keys.names)]
            on = [keys.hash == known[joined[0]],
                  *(key.eqNullSafe(known[JOINED + name]) for name, key in keys.named())]
            marked = (marked.join(F.broadcast(known), on=on, how="left").drop(*joined)
                      .withColumn(flag, F.coalesce(F.col(f"`{flag}`"), F.lit(False))))
        return marked

    def rejected(self, rows: Any, columns: Mapping[str, Any]) -> dict[str, Any]:
        """Per rule, the distinct keys of ``rows`` (aligned rows a rejection sink takes; ``columns``: the
        logical names read through the data's, :attr:`~dc43.spark.metrics.CompiledPlan.aligned_columns`)
        and how many of them carry each: one job, before they are published."""
        return {rule.key: KeyColumns.of(rows, rule, columns).distinct(rows) for rule in self.rules}

    def publish(self, marks: Marks, *, rejected: Mapping[str, Any] | None = None) -> None:
        """Keep the new keys of a published batch; with ``rejected`` (:meth:`rejected`), not a key
        whose every row went to the rejection sink: a corrected row sent again is not a repeat."""
        import pyarrow.compute as pc

        index = self._index
        if index is None:
            return
        for rule in self.rules:
            keys = marks.fresh.get(rule.key)
            if keys is None:
                continue
            if marks.routed:
                keys = keys.filter(pc.greater(keys.column(PUBLISHED), 0)).drop_columns([PUBLISHED])
            elif rejected and rejected.get(rule.key) is not None and rejected[rule.key].num_rows:
                keys = _published(keys, rejected[rule.key])
            index.publish(rule.key, keys.drop_columns([ROWS]), marks.batch_id, rule.params["horizon"],
                          now=marks.now, max_event=marks.newest.get(rule.key))


def _published(keys: Any, rejected: Any) -> Any:
    """``keys`` (Arrow) but those whose every row is among the ``rejected`` ones.

    Both come from :meth:`KeyColumns.distinct`, in the order of their hashes: a binary search
    pairs them, then the key columns are compared (numpy, not a pyarrow join, whose engine
    takes a quarter of a second to start in each process: on Spark Connect, each query's)."""
    import numpy as np
    import pyarrow.compute as pc

    hashes, theirs = keys.column(HASH).to_numpy(), rejected.column(HASH).to_numpy()
    at = np.minimum(np.searchsorted(theirs, hashes), len(theirs) - 1)
    paired = theirs[at] == hashes
    ours = np.flatnonzero(paired)
    same = np.ones(ours.size, dtype=bool)
    for name in (name for name in keys.column_names if name not in (HASH, EVENT, ROWS)):
        equal = pc.equal(keys.column(name).take(ours), rejected.column(name).take(at[ours]))
        same &= pc.fill_null(equal, False).to_numpy(zero_copy_only=False)
    rows = keys.column(ROWS).to_numpy()
    withheld = np.zeros(keys.num_rows, dtype=bool)
    withheld[ours[same]] = rejected.column(ROWS).to_numpy()[at[ours[same]]] >= rows[ours[same]]
    return keys.filter(~withheld)


@attrs.frozen
class KeyColumns:
    """One rule's key as Spark expressions over the batch: its columns (a struct, array or map as its
    JSON text, so pyarrow can group it), their hash and the event time; ``raw_schema`` holds the
    key columns' own types."""

    columns: tuple[Any, ...]
    hash: Any
    event: Any
    raw_schema: Any

    @property
    def names(self) -> list[str]:
        return [f"k{n}" for n in range(len(self.columns))]

    def named(self) -> list[tuple[str, Any]]:
        return list(zip(self.names, self.columns, strict=True))

    @classmethod
    def of(cls, batch_df: Any, rule: Expectation, columns: Mapping[str, Any], schema: Any = None) -> KeyColumns:
        """The key of ``rule`` over ``batch_df``; ``schema``: the key columns' types, when known
        (else resolved here: a plan analysis, a round trip on Spark Connect)."""
        from pyspark.sql import functions as F

        from dc43.spark.metrics import column_for

        raw = [column_for(path, columns) for path in rule.params["columns"]]
        if schema is None:
            schema = batch_df.select(*(key.alias(f"k{n}") for n, key in enumerate(raw))).schema
        event_column = rule.params["horizon"].get("event_time")
        event = F.unix_micros(column_for(event_column, columns).cast("timestamp")) if event_column else None
        return cls.over(raw, schema, event)

    @classmethod
    def over(cls, raw: list[Any], schema: Any, event: Any) -> KeyColumns:
        """The key read through ``raw`` (expressions of the types ``schema`` lists); ``event``: the
        event time in microseconds, or None."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import ArrayType, MapType, StructType

        keys = tuple(F.to_json(key) if isinstance(field.dataType, (StructType, ArrayType, MapType)) else key
                     for key, field in zip(raw, schema.fields, strict=True))
        return cls(columns=keys, hash=F.xxhash64(*keys), event=event, raw_schema=schema)

    def distinct(self, batch_df: Any, *, published: Any = None) -> Any:
        """The distinct complete keys of ``batch_df`` (Arrow, in the order of their hashes): hash, key
        columns, newest event time and how many rows carry each (with ``published``, a boolean
        column: how many of those rows it holds TRUE on, as :data:`PUBLISHED`).  Collected as they
        are: grouping in Spark would shuffle every batch into ``spark.sql.shuffle.partitions``
        tasks.  Rows of one key are neighbours once sorted by hash: numpy counts them, and pyarrow
        groups only when two different keys share a hash."""
        import numpy as np
        import pyarrow as pa

        from dc43.spark.metrics import balanced

        complete = balanced(lambda a, b: a & b, [key.isNotNull() for key in self.columns])
        extra = [] if self.event is None else [self.event.alias(EVENT)]
        extra += [] if published is None else [published.cast("byte").alias(PUBLISHED)]
        rows = _arrow(batch_df.where(complete).select(
            self.hash.alias(HASH), *(key.alias(name) for name, key in self.named()), *extra))
        if self.event is None:
            rows = rows.add_column(1 + len(self.columns), EVENT, pa.nulls(rows.num_rows, pa.int64()))
        hashes = rows.column(HASH).to_numpy()
        order = np.argsort(hashes, kind="stable")
        rows = rows.take(order)
        hashes = hashes[order]
        repeated = np.flatnonzero(hashes[1:] == hashes[:-1]) + 1  # rows whose hash the row before has
        if not repeated.size:
            return rows.append_column(ROWS, pa.array(np.ones(rows.num_rows, dtype=np.int64)))
        if not all(_same(rows.column(name), repeated) for name in self.names):
            return self._grouped(rows, published is not None)  # two keys share a hash
        starts = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
        first = rows.take(starts)
        columns = {name: first.column(name) for name in (HASH, *self.names)}
        event = rows.column(EVENT)
        if event.null_count == len(event):
            columns[EVENT] = first.column(EVENT)
        else:
            micros = event.fill_null(np.iinfo(np.int64).min).to_numpy()
            newest = np.maximum.reduceat(micros, starts)
            columns[EVENT] = pa.array(newest, mask=newest == np.iinfo(np.int64).min)
        if published is not None:
            columns[PUBLISHED] = pa.array(np.add.reduceat(rows.column(PUBLISHED).to_numpy().astype(np.int64), starts))
        columns[ROWS] = pa.array(np.diff(np.append(starts, rows.num_rows)))
        return pa.table(columns)

    def _grouped(self, rows: Any, published: bool) -> Any:
        """:meth:`distinct`'s keys grouped by pyarrow, for a batch where two keys share a hash."""
        import pyarrow as pa

        sums = [(PUBLISHED, "sum")] if published else []
        grouped = rows.group_by([HASH, *self.names], use_threads=False).aggregate(
            [(EVENT, "max"), *sums, (HASH, "count")])
        names = [HASH, *self.names, EVENT, *(PUBLISHED for _ in sums), ROWS]
        picked = [HASH, *self.names, f"{EVENT}_max", *(f"{PUBLISHED}_sum" for _ in sums), f"{HASH}_count"]
        return pa.table([grouped.column(name) for name in picked], names=names).sort_by(HASH)

    def frame(self, spark: Any, keys: Any) -> Any:
        """``keys`` (Arrow) as a DataFrame of hashes and key columns (named :data:`JOINED` ...), to join
        to the batch."""
        names = [HASH, *self.names]
        return spark.createDataFrame(keys.select(names).rename_columns([JOINED + name for name in names]))


def _same(column: Any, at: Any) -> bool:
    """Whether each row ``at`` of ``column`` (no nulls) equals the row before it."""
    import pyarrow.compute as pc

    return bool(pc.all(pc.equal(column.take(at), column.take(at - 1))).as_py())


def _arrow(frame: Any) -> Any:
    """``frame`` collected as an Arrow table.  On classic Spark, without ``toArrow``'s second analysis
    of the plan for its schema (a tenth of a second on a batch's keys), when this pyspark has it."""
    from dc43.spark.topology import is_connect

    collect = None if is_connect(frame.sparkSession) else getattr(frame, "_collect_as_arrow", None)
    if collect is None:
        return frame.toArrow()
    import pyarrow as pa

    try:
        batches = collect(empty_list_if_zero_records=False)
    except TypeError:  # another pyspark's signature
        return frame.toArrow()
    table = pa.Table.from_batches(batches)
    # timestamps in UTC, as toArrow gives them (they come in the session's time zone)
    fields = [field.with_type(pa.timestamp(field.type.unit, "UTC"))
              if pa.types.is_timestamp(field.type) and field.type.tz not in (None, "UTC") else field
              for field in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table
