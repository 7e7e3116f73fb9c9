"""The expectation plan runs as ONE aggregation per batch, whatever the number of rules.

Adaptive query execution runs each shuffle stage of a query as its own Spark
job, so the proof compares job counts: measuring any number of rules costs the
same jobs as Spark's own single aggregation of the same shape (with exact
distinct counts, one or several of them: Spark rewrites several into one
expanded aggregation with the same stages).
"""

from __future__ import annotations

import uuid

import pytest
from dc43.quality.plan import Expectation, plan_contract
from dc43.spark.metrics import compile_plan
from open_data_contract_standard.model import OpenDataContractStandard
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StringType

pytestmark = pytest.mark.spark


def jobs_of(spark, action) -> tuple[object, int]:
    group = f"dc43-{uuid.uuid4().hex[:8]}"
    context = spark.sparkContext
    context.setJobGroup(group, "measure")
    try:
        value = action()
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    return value, len(context.statusTracker().getJobIdsForGroup(group))


@pytest.mark.parametrize("copies", [1, 20])
def test_all_metrics_come_from_one_job(spark, copies):
    df = spark.createDataFrame(
        [(1, "a", 5.0), (2, None, -1.0), (2, "c", 50.0), (None, "d", None)],
        "id bigint, name string, score double",
    )
    rules = []
    for n in range(copies):
        rules += [
            Expectation(key=f"nn{n}", rule="not_null", column="id", optional=False),
            Expectation(key=f"u{n}", rule="unique", column="id"),
            Expectation(key=f"ge{n}", rule="ge", column="score", params={"value": 0}),
            Expectation(key=f"le{n}", rule="le", column="score", params={"value": 10}),
            Expectation(key=f"e{n}", rule="enum", column="name", params={"values": ["a", "c"]}),
            Expectation(key=f"r{n}", rule="regex", column="name", params={"pattern": "^[a-c]$"}),
        ]
    plan = compile_plan(rules)
    metrics, jobs = jobs_of(spark, lambda: plan.measure(df))
    _, baseline = jobs_of(spark, lambda: df.agg(F.count(F.lit(1)), F.count_distinct("id")).collect())
    assert jobs == baseline
    assert metrics["row_count"] == 4
    assert metrics[f"violations.nn{copies - 1}"] == 1
    assert metrics[f"violations.u{copies - 1}"] == 1  # 2 appears twice; null ignored
    assert metrics[f"violations.ge{copies - 1}"] == 1  # -1.0; the null score is optional
    assert metrics[f"violations.le{copies - 1}"] == 1  # 50.0
    assert metrics[f"violations.e{copies - 1}"] == 1  # "d"; the null name is optional
    assert metrics[f"violations.r{copies - 1}"] == 1  # "d"


def orders_contract(copies: int) -> OpenDataContractStandard:
    """Composite key, duplicate rows and ``copies`` times every kind of row-level rule."""
    quality = []
    for n in range(copies):
        quality += [
            {"mustBeGreaterOrEqualTo": -n}, {"mustBeBetween": [-n, 10 + n]},
            {"metric": "nullValues", "mustBeLessThan": 50 + n, "unit": "percent"},
            {"metric": "invalidValues", "arguments": {"validValues": [5.0, 50.0]}, "mustBeLessThan": n + 1},
            {"metric": "duplicateValues", "mustBeLessThan": n + 1},
        ]
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.jobs", "version": "1.0.0",
        "schema": [{"name": "orders", "properties": [
            {"name": "id", "physicalType": "bigint", "primaryKey": True, "primaryKeyPosition": 1},
            {"name": "name", "physicalType": "string", "primaryKey": True, "primaryKeyPosition": 2,
             "unique": True, "logicalTypeOptions": {"maxLength": 3, "format": "email"}},
            {"name": "score", "physicalType": "double", "quality": quality},
        ], "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}, {"rule": "duplicateRows"}]}],
    })


@pytest.mark.parametrize("copies", [1, 20])
def test_composite_keys_and_many_rules_cost_one_aggregation(spark, copies):
    df = spark.createDataFrame(
        [(1, "a", 5.0), (2, None, -1.0), (2, "c", 50.0), (None, "d", None), (2, "c", 50.0)],
        "id bigint, name string, score double",
    )
    plan, unsupported = plan_contract(orders_contract(copies))
    assert unsupported == [] and len(plan) == 6 + 5 * copies
    compiled = compile_plan(plan, types={"id": LongType(), "name": StringType(), "score": DoubleType()})
    metrics, jobs = jobs_of(spark, lambda: compiled.measure(df))
    _, baseline = jobs_of(spark, lambda: df.agg(
        F.count(F.lit(1)), F.count_distinct("id"), F.count_distinct(F.struct("id", "name"))).collect())
    assert jobs == baseline
    last = copies - 1
    assert metrics["violations.primary_key:id,name"] == 3  # null name, null id, second (2, c)
    assert metrics["violations.unique:name"] == 1
    assert metrics["metrics.duplicate_rows:orders"] == 1
    assert metrics[f"violations.ge:score{'#' + str(copies) if copies > 1 else ''}"] == (1 if last == 0 else 0)
    assert metrics["metrics.null_values:score"] == 1
    assert metrics["metrics.invalid_values:score"] == 1  # -1.0
    assert metrics[f"metrics.duplicate_values:score{'#' + str(copies) if copies > 1 else ''}"] == 1


def test_approximate_plans_cost_one_plain_aggregation(spark):
    df = spark.createDataFrame([(1, "a", 5.0), (2, "b", 1.0)], "id bigint, name string, score double")
    compiled = compile_plan(plan_contract(orders_contract(5))[0], approximate_distinct=True)
    _, jobs = jobs_of(spark, lambda: compiled.measure(df))
    _, baseline = jobs_of(spark, lambda: df.agg(F.count(F.lit(1))).collect())
    assert jobs == baseline
