"""The expectation plan runs as ONE aggregation per batch, whatever the number of rules.

Adaptive query execution runs each shuffle stage of a query as its own Spark
job, so the proof compares job counts: measuring any number of rules costs the
same jobs as Spark's own single aggregation of the same shape.
"""

from __future__ import annotations

import uuid

import pytest
from dc43.quality.plan import Expectation
from dc43.spark.metrics import compile_plan
from pyspark.sql import functions as F

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
