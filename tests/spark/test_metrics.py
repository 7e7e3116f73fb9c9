"""The expectation plan runs as ONE aggregation per batch, whatever the number of rules.

Adaptive query execution runs each shuffle stage of a query as its own Spark
job, so the proof compares job counts: measuring any number of rules costs the
same jobs as Spark's own plain ``count(*)`` aggregation: exact uniqueness,
composite keys and duplicate rows included.
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
    _, baseline = jobs_of(spark, lambda: df.agg(F.count(F.lit(1))).collect())
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
    assert unsupported == [] and len(plan) == 8 + 5 * copies  # unique_across:name and :id,name
    compiled = compile_plan(plan, types={"id": LongType(), "name": StringType(), "score": DoubleType()})
    metrics, jobs = jobs_of(spark, lambda: compiled.measure(df))
    _, baseline = jobs_of(spark, lambda: df.agg(F.count(F.lit(1))).collect())
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


# -- the per-row bit mask and the set-level split used by the inline writer's one-pass staging ----------

MASK_RULES = [
    Expectation(key="not_null:id", rule="not_null", column="id", optional=False),   # bit 0
    Expectation(key="unique:id", rule="unique", column="id"),                         # set-level: no bit
    Expectation(key="ge:score", rule="ge", column="score", params={"value": 0}),      # bit 1
    Expectation(key="enum:name", rule="enum", column="name", params={"values": ["a", "b"]},
                severity="warning"),                                                  # bit 2
    Expectation(key="le:score", rule="le", column="score", params={"value": 10}),     # bit 3
]
MASK_TYPES = {"id": LongType(), "name": StringType(), "score": DoubleType()}


def masks_and_rules(df, plan) -> dict[int, tuple[int, list[str]]]:
    """row key -> (mask, error rules named from the mask's error bits)."""
    masked = (df.select("k", plan.flag_mask().alias("mask"))
              .withColumn("route", F.col("mask").bitwiseAND(F.lit(plan.error_bits()))))
    rows = masked.select("k", "mask", plan.rules_of("route").alias("rules"))
    return {r.k: (r.mask, list(r.rules)) for r in rows.collect()}


def test_the_flag_mask_has_one_bit_per_broken_per_row_rule(spark):
    df = spark.createDataFrame([
        (0, 1, "a", 5.0),                     # clean
        (1, None, "a", 5.0),                  # not_null
        (2, 2, "z", -1.0),                    # ge + the enum warning
        (3, 3, "b", 50.0),                    # le
        (4, None, "z", float("nan")),         # everything: NaN breaks both comparisons
        (5, 3, None, None),                   # optional columns: a null breaks nothing
    ], "k int, id bigint, name string, score double")
    plan = compile_plan(MASK_RULES, types=MASK_TYPES)
    assert [key for key, _, _ in plan.row_flags] == ["not_null:id", "ge:score", "enum:name", "le:score"]
    assert plan.maskable and plan.error_bits() == 0b1011
    assert df.select(plan.flag_mask().alias("m")).schema["m"].dataType == LongType()
    assert masks_and_rules(df, plan) == {
        0: (0, []),
        1: (0b0001, ["not_null:id"]),
        2: (0b0110, ["ge:score"]),            # the warning's bit is set but routes nothing
        3: (0b1000, ["le:score"]),
        4: (0b1111, ["not_null:id", "ge:score", "le:score"]),
        5: (0, []),
    }
    keys, aggregations = plan.mask_aggregations("m")
    counted = dict(zip(keys, df.select(plan.flag_mask().alias("m")).agg(*aggregations).collect()[0]))
    assert counted == {"row_count": 6, "violations.not_null:id": 2, "violations.ge:score": 2,
                       "violations.enum:name": 2, "violations.le:score": 2}
    assert counted == {key: value for key, value in plan.measure(df).items() if key in counted}


def ladder(count: int) -> list[Expectation]:
    """``count`` rules x >= 0, x >= 1, ...: a row with x = k - 0.5 breaks the rules k .. count-1."""
    return [Expectation(key=f"ge{n}", rule="ge", column="x", params={"value": n}) for n in range(count)]


def test_bit_62_holds_the_63rd_rule_and_a_64th_rule_is_not_maskable(spark):
    df = spark.createDataFrame([(0, 62.0), (1, 61.5), (2, -1.0), (3, 30.5)], "k int, x double")
    plan = compile_plan(ladder(63))
    assert plan.maskable and plan.error_bits() == (1 << 63) - 1
    assert masks_and_rules(df, plan) == {
        0: (0, []),
        1: (1 << 62, ["ge62"]),
        2: ((1 << 63) - 1, [f"ge{n}" for n in range(63)]),  # every bit but the sign bit
        3: (sum(1 << n for n in range(31, 63)), [f"ge{n}" for n in range(31, 63)]),
    }
    keys, aggregations = plan.mask_aggregations("m")
    counted = dict(zip(keys, df.select(plan.flag_mask().alias("m")).agg(*aggregations).collect()[0]))
    # ge62: 61.5, -1.0, 30.5; ge31: -1.0, 30.5; ge30: -1.0
    assert (counted["violations.ge62"], counted["violations.ge31"], counted["violations.ge30"]) == (3, 2, 1)
    assert not compile_plan(ladder(64)).maskable
    assert not compile_plan(ladder(63), row_checks={"cast:x": F.col("x").isNull()}).maskable  # row checks count


def test_measure_set_level_returns_the_set_level_metrics_only(spark):
    df = spark.createDataFrame(
        [(1, "a", 1.0), (1, "a", 1.0), (2, "b", None), (None, "c", 2.0), (3, None, 3.0)],
        "id bigint, name string, score double",
    )
    rules = [
        Expectation(key="not_null:id", rule="not_null", column="id", optional=False),
        Expectation(key="unique:id", rule="unique", column="id"),
        Expectation(key="ge:score", rule="ge", column="score", params={"value": 2}),
        Expectation(key="primary_key:id,name", rule="primary_key", column="id,name",
                    params={"columns": ["id", "name"]}),
        Expectation(key="duplicate_rows:orders", rule="duplicate_rows", column="",
                    params={"columns": ["id", "name", "score"]}, threshold={"mustBe": 0}),
        Expectation(key="null_values:score", rule="null_values", column="score", threshold={"mustBe": 0}),
    ]
    plan = compile_plan(rules, types={"id": LongType(), "name": StringType(), "score": DoubleType()})
    set_level = plan.measure_set_level(df)
    assert set_level == {
        "violations.unique:id": 1,               # ids 1, 1, 2, 3: the null is ignored
        "violations.primary_key:id,name": 3,     # (1, a) again, a null id, a null name
        "metrics.duplicate_rows:orders": 1,
        "metrics.null_values:score": 1,
    }
    row_keys, _ = plan.row_level
    assert row_keys == ("row_count", "violations.not_null:id", "violations.ge:score")
    assert sorted([*row_keys, *set_level]) == sorted(plan.keys)
    assert {**plan.measure(df), **set_level} == plan.measure(df)
    assert compile_plan(rules[:1] + rules[2:3]).measure_set_level(df) == {}  # nothing set-level: no query


def test_exact_uniqueness_equates_nans_and_signed_zeros_and_ignores_nulls(spark):
    nan = float("nan")
    df = spark.createDataFrame(
        [(nan, 1), (nan, 1), (-0.0, 1), (0.0, 1), (1.0, 1), (None, 1), (None, 2), (1.0, None)],
        "x double, k int",
    ).repartition(3)  # the values meet from several partitions
    rules = [
        Expectation(key="unique:x", rule="unique", column="x"),
        Expectation(key="primary_key:x,k", rule="primary_key", column="x,k", params={"columns": ["x", "k"]}),
        Expectation(key="duplicate_values:x", rule="duplicate_values", column="x", threshold={"mustBe": 0}),
    ]
    metrics = compile_plan(rules, types={"x": DoubleType(), "k": LongType()}).measure(df)
    # six non-null x: NaN, NaN, -0.0, 0.0, 1.0, 1.0 -> three distinct (NaN, 0.0, 1.0)
    assert metrics["violations.unique:x"] == 3
    assert metrics["metrics.duplicate_values:x"] == 3
    # eight rows; complete keys (NaN,1) (NaN,1) (-0.0,1) (0.0,1) (1.0,1) -> three distinct
    assert metrics["violations.primary_key:x,k"] == 8 - 3
    spark_says = df.agg(F.count("x") - F.count_distinct("x")).collect()[0][0]
    assert spark_says == metrics["violations.unique:x"]  # the same as Spark's grouping semantics


def test_a_composite_key_with_a_null_part_is_a_violation(spark):
    df = spark.createDataFrame(
        [(1, "a"), (1, None), (None, "a"), (1, "a"), (2, "b"), (None, None)], "id bigint, name string")
    plan = compile_plan([Expectation(key="pk", rule="primary_key", column="id,name",
                                     params={"columns": ["id", "name"]})])
    # six rows; complete keys (1, a) (1, a) (2, b) -> two distinct: 3 incomplete + 1 repeat
    assert plan.measure_set_level(df) == {"violations.pk": 4} == {k: v for k, v in plan.measure(df).items()
                                                                   if k == "violations.pk"}
