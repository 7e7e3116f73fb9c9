"""Compile an expectation plan into ONE Spark aggregation per (micro-)batch.

Every row-level metric (row count, violation counts, uniqueness, composite
keys, duplicate rows, library metrics) is one aggregate of a single
``df.agg(...)``.  Each SQL rule adds one query on a temporary view of the
batch, which is persisted meanwhile.  With ``approximate_distinct`` the
distinct counts use ``approx_count_distinct``, so the aggregates can run in
``DataFrame.observe`` (which refuses exact distinct aggregates).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, DoubleType, FloatType, MapType, StringType, StructType

from dc43.contracts.sla import LATENCY_RULES, is_lag
from dc43.errors import Dc43Error
from dc43.quality.across import RULE as ACROSS
from dc43.quality.plan import ROW_COUNT, STREAM_RULES, Expectation
from dc43.quality.volume import RULES as VOLUME_RULES

_NUMERIC_RULES = ("eq", "ne", "gt", "ge", "lt", "le", "between", "not_between")
_CHECKS: dict[str, Callable[[Column, Mapping[str, Any]], Column]] = {
    "eq": lambda c, p: c == p["value"],
    "ne": lambda c, p: c != p["value"],
    "gt": lambda c, p: c > p["value"],
    "ge": lambda c, p: c >= p["value"],
    "lt": lambda c, p: c < p["value"],
    "le": lambda c, p: c <= p["value"],
    "between": lambda c, p: c.between(p["low"], p["high"]),
    "not_between": lambda c, p: ~c.between(p["low"], p["high"]),
    "enum": lambda c, p: c.isin(list(p["values"])),
    "not_enum": lambda c, p: ~c.isin(list(p["values"])),
    "regex": lambda c, p: c.rlike(p["pattern"]),
    "format": lambda c, p: c.rlike(p["pattern"]),
    "min_length": lambda c, p: F.length(c) >= p["value"],
    "max_length": lambda c, p: F.length(c) <= p["value"],
    "min_items": lambda c, p: F.size(c) >= p["value"],
    "max_items": lambda c, p: F.size(c) <= p["value"],
    "unique_items": lambda c, p: F.size(F.array_distinct(c)) == F.size(c),
    "expression": lambda c, p: F.expr(p["expression"]),
}
_MEASURES = ("unique", "primary_key", "row_count", "null_values", "missing_values", "invalid_values",
             "duplicate_values", "duplicate_rows", *LATENCY_RULES)
#: rank accuracy of the latency percentile: exact up to this many rows, 1/this of the rank beyond
LATENCY_ACCURACY = 10_000
#: The column :meth:`CompiledPlan.flag_frame` adds: keys of the per-row rules a row breaks.
FLAGS_COLUMN = "_dc43_flags"
#: Bit ``i`` set: the row breaks ``row_flags[i]`` (:meth:`CompiledPlan.flag_mask`).
MASK_COLUMN = "_dc43_mask"
#: The bits of :data:`MASK_COLUMN` that route a row to a rejection sink (error rules); 0: the main sink.
ROUTE_COLUMN = "_dc43_route"
#: key column types whose within-batch surplus is not counted from the keys (:meth:`CompiledPlan.keyed_set_level`)
_UNKEYED = (FloatType, DoubleType, StructType, ArrayType, MapType)
#: Prefix of the columns marking rows whose key an earlier batch published (:func:`seen_column`).
SEEN_PREFIX = "_dc43_seen:"
#: A mask is one signed 64-bit integer.
MAX_MASKED_FLAGS = 63
DISTINCT_RULES = ("unique", "primary_key", "duplicate_values", "duplicate_rows", ACROSS)
KNOWN_RULES = ("not_null", *_CHECKS, *_MEASURES, ACROSS, "sql")
_TYPED_RULES = (*_NUMERIC_RULES, "enum", "not_enum", "missing_values", "invalid_values")


def measured(key: str, value: Any) -> int | None:
    """An aggregate's value as a metric: a count (0 when NULL), or a latency measure (NULL kept:
    no row had an event time)."""
    if value is None:
        return None if is_lag(key) else 0
    return int(value)


def seen_column(key: str) -> str:
    """The column, added by :mod:`dc43.spark.key_history`, TRUE on a row breaking ``unique_across`` rule ``key``."""
    return SEEN_PREFIX + key


def balanced(combine: Callable[[Column, Column], Column], columns: list[Column]) -> Column:
    """``columns`` combined pairwise as a balanced tree, not a chain: a plan of 63 rules then
    nests 6 levels deep, not 63 (Spark Connect's protobuf messages refuse deep nesting)."""
    while len(columns) > 1:
        paired = [combine(a, b) for a, b in zip(columns[::2], columns[1::2])]
        columns = paired + columns[len(paired) * 2:]
    return columns[0]


def _column(name: str) -> Column:
    """The top-level column ``name``, dots and all."""
    return F.col("`" + name.replace("`", "``") + "`")


def _quoted(path: str) -> Column:
    return F.col(".".join(f"`{part.replace('`', '``')}`" for part in path.split(".")))


def column_for(path: str, columns: Mapping[str, Column]) -> Column:
    """The expression for ``path``: an aligned column, a field of one, or the raw column."""
    if path in columns:
        return columns[path]
    head, _, rest = path.partition(".")
    if head in columns and rest:
        expr = columns[head]
        for part in rest.split("."):
            expr = expr.getField(part)
        return expr
    return _quoted(path)


def _distinct(col: Column, approximate: bool) -> Column:
    """Distinct non-null values of ``col``.

    Exact counts gather the batch's values in one list and deduplicate it with a
    hash set (``array_distinct`` equates NaNs and 0.0 with -0.0, as grouping does).
    That keeps the whole plan a plain global aggregation: ``count_distinct`` would
    group by the value and carry every other aggregate through a shuffle, which
    cost more than all the other rules together.  The list holds one micro-batch's
    non-null values, in the single task that finishes the aggregation.
    """
    if approximate:
        return F.approx_count_distinct(col)
    return F.size(F.array_distinct(F.collect_list(col)))


def _surplus(total: Column, distinct: Column, approximate: bool) -> Column:
    """Rows beyond the distinct ones; an approximate distinct count may exceed the total."""
    return F.greatest(total - distinct, F.lit(0)) if approximate else total - distinct


def _count_if(condition: Column) -> Column:
    return F.count(F.when(condition, 1))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _typed(col: Column, dtype: DataType | None, params: Mapping[str, Any]
           ) -> tuple[Column, Mapping[str, Any], DataType | None]:
    """Operands that cannot fail an ANSI cast: compared values become NULL instead.

    A string column compared with numbers is read with ``try_cast`` as double;
    string literals compared with a non-string column are ``try_cast`` to its type.
    """
    if dtype is None:
        return col, params, dtype
    literals = [params[k] for k in ("value", "low", "high") if k in params] + list(params.get("values", []))
    if isinstance(dtype, StringType) and any(_is_number(v) for v in literals):
        col, dtype = col.try_cast(DoubleType()), DoubleType()
    if isinstance(dtype, StringType):
        return col, params, dtype

    def literal(value: Any) -> Any:
        return F.lit(value).try_cast(dtype) if isinstance(value, str) else value

    typed = dict(params)
    for key in ("value", "low", "high"):
        if key in typed:
            typed[key] = literal(typed[key])
    if "values" in typed:
        typed["values"] = [literal(v) for v in typed["values"]]
    return col, typed, dtype


def _measure(e: Expectation, raw: Column, col: Column, params: Mapping[str, Any],
             columns: Mapping[str, Column], approximate: bool) -> Column:
    """Aggregates whose value is not a per-row pass/fail count; ``col`` is ``raw`` typed for comparisons."""
    values = list(params.get("values", []))
    if e.rule in ("unique", "duplicate_values"):
        return _surplus(F.count(raw), _distinct(raw, approximate), approximate)
    if e.rule == "primary_key":
        keys = [column_for(path, columns) for path in params["columns"]]
        complete = balanced(lambda a, b: a & b, [k.isNotNull() for k in keys])
        return _surplus(F.count(F.lit(1)), _distinct(F.when(complete, F.struct(*keys)), approximate), approximate)
    if e.rule == "duplicate_rows":
        row = F.struct(*[column_for(path, columns) for path in params["columns"]])
        return _surplus(F.count(F.lit(1)), _distinct(row, approximate), approximate)
    if e.rule == "row_count":
        return F.count(F.lit(1))
    if e.rule in LATENCY_RULES:  # the negated event time: the batch side adds the time it judges at
        negated = -F.unix_micros(raw.cast("timestamp"))
        return F.max(negated) if e.rule == "latency" else F.percentile_approx(negated, 0.95, LATENCY_ACCURACY)
    if e.rule == "null_values":
        return _count_if(raw.isNull())
    if e.rule == "missing_values":
        present = [v for v in values if v is not None]
        missing = F.coalesce(col.isin(present), F.lit(False)) if present else F.lit(False)
        return _count_if(raw.isNull() | missing if None in values else missing)
    bad = F.lit(False)  # invalid_values: non-null values outside the valid list or pattern
    if "values" in params:
        bad = bad | ~F.coalesce(col.isin(values), F.lit(False))
    if "pattern" in params:
        bad = bad | ~F.coalesce(raw.rlike(params["pattern"]), F.lit(False))
    return _count_if(raw.isNotNull() & bad)


def row_failure(expectation: Expectation, columns: Mapping[str, Column], *,
                types: Mapping[str, DataType] | None = None) -> Column | None:
    """TRUE on a row that breaks ``expectation`` (never NULL); None for set-level rules."""
    e = expectation
    if e.rule in _MEASURES or e.rule == "sql":
        return None
    if e.rule == ACROSS:  # the column the batch side's key history adds (dc43.spark.key_history)
        return F.coalesce(F.col("`" + seen_column(e.key).replace("`", "``") + "`"), F.lit(False))
    raw = column_for(e.column, columns) if e.column else F.lit(None)
    col, params, dtype = raw, e.params, (types or {}).get(e.column)
    if e.rule in _TYPED_RULES:
        col, params, dtype = _typed(raw, dtype, params)
    if e.rule == "not_null":
        passed = raw.isNotNull()
    elif e.rule in _CHECKS:
        passed = F.coalesce(_CHECKS[e.rule](col, params), F.lit(False))
        if e.rule in _NUMERIC_RULES and isinstance(dtype, (FloatType, DoubleType)):
            passed = passed & ~F.isnan(col)
        if e.optional:
            passed = raw.isNull() | passed
    else:
        raise Dc43Error(
            f"expectation '{e.key}' has rule '{e.rule}', which cannot be compiled to Spark; known rules: "
            f"{', '.join(KNOWN_RULES)}. Fix the data-quality service's plan."
        )
    if e.optional_parent:
        passed = column_for(e.optional_parent, columns).isNull() | passed
    return ~F.coalesce(passed, F.lit(True))


def violation_count(expectation: Expectation, columns: Mapping[str, Column], *,
                    types: Mapping[str, DataType] | None = None, approximate: bool = False) -> Column:
    """The aggregate of ``expectation``: failing rows, or the measured value of a threshold rule."""
    e = expectation
    failed = row_failure(e, columns, types=types)
    if failed is not None:
        return _count_if(failed)
    raw = column_for(e.column, columns) if e.column else F.lit(None)
    col, params = raw, e.params
    if e.rule in _TYPED_RULES:
        col, params, _ = _typed(raw, (types or {}).get(e.column), params)
    return _measure(e, raw, col, params, columns, approximate)


def _number(expectation: Expectation, value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, (bool, int)):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return value
    if isinstance(value, (float, Decimal)):
        return int(value) if value == int(value) else float(value)
    raise Dc43Error(f"SQL rule '{expectation.key}' returned {value!r}, not a number; make its query "
                    "return one numeric value, e.g. SELECT COUNT(*) FROM ${object} WHERE ...")


def sql_query(expectation: Expectation, view: str) -> str:
    """A SQL rule's query on the batch registered as ``view`` (named ``${object}`` or by its schema
    object's names, :mod:`dc43.quality.sql_rules`)."""
    from dc43.quality.sql_rules import on_batch

    return on_batch(expectation.params["query"], expectation.params.get("tables", ()), view)


def _sql_value(session: SparkSession, expectation: Expectation, view: str) -> int | float | None:
    try:
        rows = session.sql(sql_query(expectation, view)).collect()
    except PySparkException as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise Dc43Error(f"SQL rule '{expectation.key}' failed: {first_line} Fix its query; the batch is "
                        "available as ${object}.") from exc
    if len(rows) != 1 or len(rows[0]) != 1:
        raise Dc43Error(
            f"SQL rule '{expectation.key}' returned {len(rows)} row(s) of {len(rows[0]) if rows else 0} "
            "column(s); make its query return exactly one value, e.g. SELECT COUNT(*) FROM ${object} WHERE ..."
        )
    return _number(expectation, rows[0][0])


@attrs.frozen
class CompiledPlan:
    """Metric names and the aggregates computing them in one ``agg``, plus any SQL rules.

    ``keys`` name the ``aggregations`` in order; SQL rules (``sql_rules``) are
    not among them and need a second pass over the batch, so
    ``row_aggregations_only`` tells whether ``DataFrame.observe`` can measure it all.
    SQL rules see the batch with ``columns`` (the aligned expressions) in place.
    """

    expectations: tuple[Expectation, ...]
    keys: tuple[str, ...]
    aggregations: tuple[Column, ...]
    approximate: bool = False
    sql_rules: tuple[Expectation, ...] = ()
    columns: Mapping[str, Column] = attrs.field(factory=dict)
    #: (key, severity, TRUE-on-a-bad-row column) of every per-row rule and row check
    row_flags: tuple[tuple[str, str, Column], ...] = ()
    #: keys of the rules left out of the plan (``skip_distinct``)
    unmeasured: tuple[str, ...] = ()
    #: logical name -> the data's column name, where they differ (``physicalName``)
    physical: Mapping[str, str] = attrs.field(factory=dict)
    #: set-level expectations (uniqueness, duplicates, thresholds) and the column types
    set_level: tuple[Expectation, ...] = ()
    types: Mapping[str, DataType] | None = None
    #: the metric each of ``row_flags`` counts, in the same order
    flag_metrics: tuple[str, ...] = ()
    #: keys of the row checks among ``row_flags`` (cast losses, decode errors): they look at source values
    check_keys: tuple[str, ...] = ()
    #: Spark columns built from the plan, by name: building them costs driver time on every batch
    _memo: dict[str, Any] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._memo:
            self._memo[name] = build()
        return self._memo[name]

    def _split(self, set_level: bool) -> list[int]:
        names = {e.metric for e in self.set_level}
        return [i for i, key in enumerate(self.keys) if (key in names) == set_level]

    @property
    def row_level(self) -> tuple[tuple[str, ...], tuple[Column, ...]]:
        """Keys and aggregates of the metrics that look at one row at a time.

        They need no grouping, so ``DataFrame.observe`` can compute them in a write's own pass.
        """
        rows = self._split(set_level=False)
        return tuple(self.keys[i] for i in rows), tuple(self.aggregations[i] for i in rows)

    def measure_set_level(self, df: DataFrame, *, aligned: bool = False) -> dict[str, int]:
        """The set-level metrics (uniqueness, duplicates) of ``df`` in one aggregation.

        ``aligned``: ``df`` holds the contract's columns already aligned (staged rows), not the
        source's.  Only the columns those rules use are read: on a columnar source, a fraction
        of the batch.
        """
        keys, aggs = self._once(f"set_level:{aligned}", lambda: self._set_level(aligned))
        if not keys:
            return {}
        row = df.agg(*aggs).collect()[0]
        return {key: measured(key, row[n]) for n, key in enumerate(keys)}

    def _set_level(self, aligned: bool) -> tuple[list[str], list[Column]]:
        if aligned:
            keys = [e.metric for e in self.set_level]
            aggs = [violation_count(e, self.aligned_columns, types=self.types, approximate=self.approximate)
                    for e in self.set_level]
        else:
            indices = self._split(set_level=True)
            keys, aggs = [self.keys[i] for i in indices], [self.aggregations[i] for i in indices]
        return keys, [a.alias(f"_s{n}") for n, a in enumerate(aggs)]

    @property
    def aligned_columns(self) -> dict[str, Column]:
        """Logical name -> column of aligned rows (flagged or staged ones), which carry the data's names."""
        return {logical: _column(physical) for logical, physical in self.physical.items()}

    def recheckable(self, *, unmarked: bool = False) -> bool:
        """Whether every per-row rule can be evaluated again on the aligned values alone.

        Not when a row check looks at the source's values (a cast's losses, a decode error), nor
        with keys checked across batches (the batch side marks those rows), unless ``unmarked``:
        no row of the batch is marked (its keys are read back once it is staged).
        """
        return not self.check_keys and (unmarked or not self.across)

    @property
    def across(self) -> tuple[Expectation, ...]:
        """The measured rules keeping keys unique across micro-batches."""
        return tuple(e for e in self.expectations if e.rule == ACROSS and e.metric in self.keys)

    def keyed_set_level(self) -> dict[str, tuple[str, str]]:
        """Set-level metric -> (its rule, the ``unique_across`` rule on the same columns): the ``unique``
        and ``primary_key`` rules whose surplus the key lookup counts from the keys it collects
        (:meth:`dc43.spark.key_history.Marks.counted`), so no aggregation gathers their values.
        Not over floating-point or nested columns, whose equality grouping and hashing may disagree on."""
        def build() -> dict[str, tuple[str, str]]:
            across = {tuple(e.params["columns"]): e.key for e in self.across}
            keyed: dict[str, tuple[str, str]] = {}
            for e in self.set_level:
                columns = ((e.column,) if e.rule == "unique" else
                           tuple(e.params["columns"]) if e.rule == "primary_key" else ())
                types = [(self.types or {}).get(column) for column in columns]
                if columns in across and all(t is not None and not isinstance(t, _UNKEYED) for t in types):
                    keyed[e.metric] = (e.rule, across[columns])
            return keyed

        return self._once("keyed_set_level", build)

    def without(self, metrics: Iterable[str]) -> CompiledPlan:
        """This plan without the set-level ``metrics`` (counted elsewhere: :meth:`keyed_set_level`)."""
        dropped = frozenset(metrics)
        if not dropped:
            return self

        def build() -> CompiledPlan:
            kept = [i for i, key in enumerate(self.keys) if key not in dropped]
            return attrs.evolve(self, keys=tuple(self.keys[i] for i in kept),
                                aggregations=tuple(self.aggregations[i] for i in kept),
                                set_level=tuple(e for e in self.set_level if e.metric not in dropped))

        return self._once("without:" + ",".join(sorted(dropped)), build)

    def aligned_error_rules(self, *, unmarked: bool = False) -> Column:
        """``array<string>``: the error rules a row of aligned values (a staged row) breaks.

        The same verdict per row as :meth:`flag_mask` gave on the source, when :meth:`recheckable`;
        ``unmarked``: no row was marked by the key history, so no ``unique_across`` rule is broken.
        """
        def build() -> Column:
            errors = {key for key, severity, _ in self.row_flags if severity == "error"}
            flags = [F.when(row_failure(e, self.aligned_columns, types=self.types), F.lit(e.key))
                     for e in self.expectations if e.key in errors and not (unmarked and e.rule == ACROSS)]
            if not flags:
                return F.array().cast("array<string>")
            return F.filter(F.array(*flags), lambda key: key.isNotNull())

        return self._once(f"aligned_error_rules:{unmarked}", build)

    @property
    def maskable(self) -> bool:
        """Whether :meth:`flag_mask` can hold a bit for every per-row rule."""
        return len(self.row_flags) <= MAX_MASKED_FLAGS

    def flag_mask(self) -> Column:
        """``bigint``: bit ``i`` set when the row breaks ``row_flags[i]``; 0 on a clean row."""
        def build() -> Column:
            bits = [F.when(bad, F.lit(1 << i)).otherwise(F.lit(0)) for i, (_, _, bad) in enumerate(self.row_flags)]
            return balanced(lambda a, b: a.bitwiseOR(b), [F.lit(0).cast("bigint"), *bits])

        return self._once("flag_mask", build)

    def error_bits(self) -> int:
        return sum(1 << i for i, (_, severity, _) in enumerate(self.row_flags) if severity == "error")

    def route(self, mask: str, *, two_way: bool) -> Column:
        """``bigint``: where a row goes, from its column ``mask`` (a :meth:`flag_mask`): 0 the main
        sink; else the mask's error bits, or 1 for any of them (``two_way``)."""
        def build() -> Column:
            errors = F.col(mask).bitwiseAND(F.lit(self.error_bits()))
            return (errors != 0).cast("bigint") if two_way else errors

        return self._once(f"route:{mask}:{two_way}", build)

    def mask_aggregations(self, mask: str) -> tuple[tuple[str, ...], tuple[Column, ...]]:
        """Keys and aggregates of the row-level metrics, counted from column ``mask``, a :meth:`flag_mask`."""
        def build() -> tuple[tuple[str, ...], tuple[Column, ...]]:
            bits = F.col(mask)
            keys = [ROW_COUNT, *self.flag_metrics]
            aggs = [F.count(F.lit(1))] + [_count_if(bits.bitwiseAND(F.lit(1 << i)) != 0)
                                          for i in range(len(self.row_flags))]
            return tuple(keys), tuple(a.alias(f"_m{n}") for n, a in enumerate(aggs))

        return self._once(f"mask_aggregations:{mask}", build)

    def rules_of(self, route: str) -> Column:
        """``array<string>``: the keys of the rules whose bits are set in column ``route``."""
        def build() -> Column:
            bits = F.col(route)
            keys = [F.when(bits.bitwiseAND(F.lit(1 << i)) != 0, F.lit(key))
                    for i, (key, _, _) in enumerate(self.row_flags)]
            if not keys:
                return F.array().cast("array<string>")
            return F.filter(F.array(*keys), lambda key: key.isNotNull())

        return self._once(f"rules_of:{route}", build)

    def failed_rules(self, severities: Iterable[str] = ("error",)) -> Column:
        """``array<string>``: the keys of the per-row rules of ``severities`` a row breaks.

        Set-level rules (uniqueness, duplicates, thresholds, SQL) judge no single row.
        """
        wanted = set(severities)
        flags = [F.when(bad, F.lit(key)) for key, severity, bad in self.row_flags if severity in wanted]
        if not flags:
            return F.array().cast("array<string>")
        return F.filter(F.array(*flags), lambda key: key.isNotNull())

    def flag_frame(self, df: DataFrame, projection: Iterable[Column]) -> DataFrame:
        """``projection`` of ``df`` plus :data:`FLAGS_COLUMN`: every per-row rule a row breaks.

        Evaluating each predicate once per row, for :meth:`measure_flagged` and for routing.
        """
        flags = [F.when(bad, F.lit(key)) for key, _, bad in self.row_flags]
        found = F.filter(F.array(*flags), lambda key: key.isNotNull()) if flags else F.array().cast("array<string>")
        return df.select(*projection, found.alias(FLAGS_COLUMN))

    def measure_flagged(self, flagged: DataFrame) -> dict[str, int | float | None]:
        """The metrics of :meth:`measure`, computed on a :meth:`flag_frame` (contract columns)."""
        flags = F.col(FLAGS_COLUMN)
        keys = [ROW_COUNT, *self.flag_metrics]
        aggs = [F.count(F.lit(1))] + [_count_if(F.array_contains(flags, key)) for key, _, _ in self.row_flags]
        for e in self.set_level:
            keys.append(e.metric)
            aggs.append(violation_count(e, self.aligned_columns, types=self.types, approximate=self.approximate))
        row = flagged.agg(*(a.alias(f"_m{i}") for i, a in enumerate(aggs))).collect()[0]
        metrics = {key: measured(key, row[i]) for i, key in enumerate(keys)}
        if self.sql_rules:
            metrics.update(attrs.evolve(self, columns={})._sql_metrics(flagged))
        return metrics

    def error_rules(self, flags: Column) -> Column:
        """The keys in ``flags`` (an array column) of rules whose severity is ``error``."""
        errors = [key for key, severity, _ in self.row_flags if severity == "error"]
        return F.filter(flags, lambda key: key.isin(errors)) if errors else F.array().cast("array<string>")

    @property
    def row_aggregations_only(self) -> bool:
        return not self.sql_rules

    def metrics_from_row(self, row: Row) -> dict[str, int]:
        """Metrics from the row of :attr:`aggregations` (from ``agg`` or ``observe``)."""
        return {key: measured(key, row[i]) for i, key in enumerate(self.keys)}

    def measure(self, df: DataFrame) -> dict[str, int | float | None]:
        """Every metric of ``df``: one aggregation, plus one query per SQL rule."""
        if self.across and "marked" not in self._memo:  # the first batch tells: they all come the same way
            self._check_marked(df)
        if self.row_aggregations_only:
            return self._aggregate(df)
        cached = df.is_cached
        if not cached:
            df.persist()
        try:
            return {**self._aggregate(df), **self._sql_metrics(df)}
        finally:
            if not cached:
                df.unpersist()

    def _check_marked(self, df: DataFrame) -> None:
        """Refuse a batch the key history did not mark (reading its columns costs an analysis)."""
        if any(seen_column(e.key) not in df.columns for e in self.across):
            raise Dc43Error(
                f"this plan checks {', '.join(e.key for e in self.across)} against earlier micro-batches, "
                "and the batch was not marked: measure it through the batch side (side(batch_df, batch_id)), "
                "or measure side.mark_keys(batch_df, batch_id)[0]")
        self._memo["marked"] = True

    def _aggregate(self, df: DataFrame) -> dict[str, int]:
        return self.metrics_from_row(df.agg(*self.aggregations).collect()[0])

    def _sql_metrics(self, df: DataFrame) -> dict[str, int | float | None]:
        with self.batch_view(df) as view:
            return {e.metric: _sql_value(df.sparkSession, e, view) for e in self.sql_rules}

    @contextlib.contextmanager
    def batch_view(self, df: DataFrame) -> Iterator[str]:
        """``df`` as the temporary view SQL rules read (its aligned columns by the data's names and by
        their logical names, then the others), dropped on leaving."""
        view = f"dc43_batch_{uuid.uuid4().hex}"
        named = {logical: self.physical.get(logical, logical) for logical in self.columns}
        if self.columns:
            known = {*named, *named.values()}
            extra = [_column(name) for name in df.columns if name not in known]
            frame = df.select(*[c.alias(named[name]) for name, c in self.columns.items()], *extra)
        else:
            frame = df
        taken = set(frame.columns)
        logical = [_column(p).alias(name) for name, p in self.physical.items() if name not in taken and p in taken]
        frame = frame.select("*", *logical) if logical else frame  # queries may use either name
        # A view of exactly the batch's plan would take the caller's cache with it when dropped
        # (Spark Connect uncaches a dropped view's plan); a no-op filter keeps the plans apart.
        frame.where(F.lit(True)).createOrReplaceTempView(view)
        try:
            yield view
        finally:
            df.sparkSession.catalog.dropTempView(view)


def compile_plan(expectations: Iterable[Expectation | Mapping[str, Any]], *,
                 columns: Mapping[str, Column] | None = None,
                 row_checks: Mapping[str, Column] | None = None,
                 types: Mapping[str, DataType] | None = None,
                 approximate_distinct: bool = False, skip_distinct: bool = False,
                 streaming: bool = False, physical: Mapping[str, str] | None = None) -> CompiledPlan:
    """Compile ``expectations`` (and extra row checks) against ``columns`` once.

    ``row_checks`` maps a key to a boolean column TRUE on a bad row; each is
    counted as ``violations.<key>`` (for example ``cast:amount``, ``decode``).

    ``types`` maps dotted paths to Spark types: float/double columns get NaN
    checks on comparisons and mismatched literals are ``try_cast``; without it
    no type is assumed.  ``approximate_distinct`` counts distinct values with
    ``approx_count_distinct``; ``skip_distinct`` leaves rules that count distinct
    values out (listed in ``unmeasured``): ``DataFrame.observe`` cannot count them
    exactly, and an approximation of duplicates is off by thousands on large batches.
    ``streaming``: keep the rules only streams measure: ``unique_across`` (it reads the columns a
    stream's key history adds, :mod:`dc43.spark.key_history`) and latency (turned into lags by the
    batch side); without it they are left out.  Volume rules are never compiled: the batch side
    counts them from each batch's row count (:mod:`dc43.volume_index`).  ``physical``: logical name
    -> data column name (``physicalName``) of the aligned rows, which :attr:`CompiledPlan.aligned_columns`
    reads rules through.
    """
    columns = dict(columns or {})
    plan = tuple(Expectation.coerce(e) for e in expectations)
    keys, aggs = [ROW_COUNT], [F.count(F.lit(1))]
    flags, flag_metrics, unmeasured, set_level = [], [], [], []
    for expectation in plan:
        if expectation.rule in ("sql", *VOLUME_RULES) or (expectation.rule in STREAM_RULES and not streaming):
            continue  # SQL rules run apart; the batch side counts volume from row counts
        if skip_distinct and expectation.rule in DISTINCT_RULES:
            unmeasured.append(expectation.key)
            continue
        keys.append(expectation.metric)
        failed = row_failure(expectation, columns, types=types)
        if failed is None:
            aggs.append(violation_count(expectation, columns, types=types, approximate=approximate_distinct))
            set_level.append(expectation)
        else:
            aggs.append(_count_if(failed))
            flags.append((expectation.key, expectation.severity, failed))
            flag_metrics.append(expectation.metric)
    for key, bad in (row_checks or {}).items():
        keys.append(f"violations.{key}")
        aggs.append(_count_if(bad))
        flags.append((key, "error", F.coalesce(bad, F.lit(False))))
        flag_metrics.append(f"violations.{key}")
    return CompiledPlan(
        expectations=plan, keys=tuple(keys),
        aggregations=tuple(agg.alias(f"_m{i}") for i, agg in enumerate(aggs)),
        approximate=approximate_distinct, sql_rules=tuple(e for e in plan if e.rule == "sql"),
        columns=columns, row_flags=tuple(flags), unmeasured=tuple(unmeasured),
        set_level=tuple(set_level), types=dict(types or {}), flag_metrics=tuple(flag_metrics),
        check_keys=tuple(row_checks or {}), physical=dict(physical or {}),
    )
