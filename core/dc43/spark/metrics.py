"""Compile an expectation plan into ONE Spark aggregation per (micro-)batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dc43.errors import Dc43Error
from dc43.quality.plan import ROW_COUNT, Expectation


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


def _value_check(rule: str, params: Mapping[str, Any]) -> Callable[[Column], Column]:
    if rule in ("gt", "ge", "lt", "le"):
        value = params["value"]
        return {"gt": lambda c: c > value, "ge": lambda c: c >= value,
                "lt": lambda c: c < value, "le": lambda c: c <= value}[rule]
    if rule == "enum":
        values = list(params["values"])
        return lambda c: c.isin(values)
    if rule == "regex":
        pattern = params["pattern"]
        return lambda c: c.rlike(pattern)
    if rule == "expression":
        predicate = F.expr(params["expression"])
        return lambda c: predicate
    raise Dc43Error(
        f"expectation rule '{rule}' cannot be compiled to Spark; known rules: not_null, unique, "
        "gt, ge, lt, le, enum, regex, expression. Fix the data-quality service's plan."
    )


def violation_count(expectation: Expectation, columns: Mapping[str, Column]) -> Column:
    """An aggregate counting the rows that break ``expectation``."""
    col = column_for(expectation.column, columns)
    if expectation.rule == "unique":
        return F.count(col) - F.count_distinct(col)
    if expectation.rule == "not_null":
        passed = col.isNotNull()
    else:
        passed = F.coalesce(_value_check(expectation.rule, expectation.params)(col), F.lit(False))
        if expectation.optional:
            passed = col.isNull() | passed
    return F.sum(F.when(passed, 0).otherwise(1))


@attrs.frozen
class CompiledPlan:
    """Metric names and the aggregate expressions computing them, in one ``agg``."""

    expectations: tuple[Expectation, ...]
    keys: tuple[str, ...]
    aggregations: tuple[Column, ...]

    def measure(self, df: DataFrame) -> dict[str, int]:
        """Run the single aggregation over ``df`` and return its metrics."""
        row = df.agg(*self.aggregations).collect()[0]
        return {key: int(row[i] or 0) for i, key in enumerate(self.keys)}


def compile_plan(expectations: Iterable[Expectation | Mapping[str, Any]], *,
                 columns: Mapping[str, Column] | None = None,
                 cast_checks: Mapping[str, Column] | None = None) -> CompiledPlan:
    """Compile ``expectations`` (and cast-loss checks) against ``columns`` once."""
    columns = columns or {}
    plan = tuple(Expectation.coerce(e) for e in expectations)
    keys = [ROW_COUNT]
    aggs = [F.count(F.lit(1))]
    for expectation in plan:
        keys.append(expectation.metric)
        aggs.append(violation_count(expectation, columns))
    for name, lost in (cast_checks or {}).items():
        keys.append(f"violations.cast:{name}")
        aggs.append(F.sum(F.when(lost, 1).otherwise(0)))
    aliased = tuple(agg.alias(f"_m{i}") for i, agg in enumerate(aggs))
    return CompiledPlan(expectations=plan, keys=tuple(keys), aggregations=aliased)
