"""Every ODCS rule kind on small data, with hand-counted expected metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from dc43.errors import Dc43Error
from dc43.quality import LocalDataQualityService, plan_contract
from dc43.results import ObservationPayload
from dc43.spark.metrics import compile_plan
from open_data_contract_standard.model import OpenDataContractStandard
from pyspark.sql import Observation, Row
from pyspark.sql.types import DataType, StructType

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

NAN = float("nan")


def contract(*properties: dict[str, Any], quality: list[dict[str, Any]] | None = None) -> OpenDataContractStandard:
    obj: dict[str, Any] = {"name": "orders", "properties": list(properties)}
    if quality:
        obj["quality"] = quality
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.orders", "version": "1.0.0", "schema": [obj]})


def prop(name: str, physical: str = "string", **fields: Any) -> dict[str, Any]:
    return {"name": name, "physicalType": physical, **fields}


def types_of(schema: StructType, prefix: str = "") -> dict[str, DataType]:
    """Dotted path -> Spark type, nested struct fields included."""
    types: dict[str, DataType] = {}
    for field in schema.fields:
        types[prefix + field.name] = field.dataType
        if isinstance(field.dataType, StructType):
            types.update(types_of(field.dataType, f"{prefix}{field.name}."))
    return types


def measure(df: Any, c: OpenDataContractStandard, **kwargs: Any) -> dict[str, Any]:
    plan, unsupported = plan_contract(c)
    assert unsupported == []
    return compile_plan(plan, types=types_of(df.schema), **kwargs).measure(df)


VALUES = [(0.0,), (5.0,), (10.0,), (NAN,), (None,), (-1.0,), (10.5,)]
STRINGS = [("EUR",), ("USD",), ("XXX",), ("eur",), (None,), ("",)]
NESTED = [
    (("ann", ("12345",)),),
    (None,),  # no customer: nothing below it is checked
    (("bob", None),),  # no address: its zip is not checked
    ((None, ("1234",)),),  # name missing, zip too short
    (("cid", (None,)),),  # zip missing (and so not matching)
]
LIBRARY = [("a",), ("",), (None,), ("n/a",), ("b",), ("a",), ("zz",), (None,)]
ROWS = [(1, "x"), (1, "x"), (1, None), (1, None), (2, "y")]

# (id, schema, rows, properties, object quality, expected metrics)
CASES = [
    ("required and unique ignore nulls for uniqueness", "id bigint, name string",
     [(1, "a"), (2, None), (2, "c"), (None, "d"), (None, "d")],
     [prop("id", "bigint", required=True, unique=True), prop("name", unique=True)], None,
     {"row_count": 5, "violations.not_null:id": 2, "violations.unique:id": 1, "violations.unique:name": 1}),
    ("single primary key", "id bigint", [(1,), (1,), (None,), (2,)],
     [prop("id", "bigint", primaryKey=True)], None,
     {"violations.not_null:id": 1, "violations.unique:id": 1}),
    ("composite primary key: any null key column or a duplicate tuple", "a bigint, b string",
     [(1, "x"), (1, "x"), (1, "y"), (None, "x"), (2, None), (None, None), (3, "z")],
     [prop("a", "bigint", primaryKey=True, primaryKeyPosition=1),
      prop("b", primaryKey=True, primaryKeyPosition=2)], None,
     {"violations.primary_key:a,b": 4}),  # 3 rows with a null + 1 duplicate of (1, x)
    ("value checks: boundaries, NaN always fails, optional null passes", "x double", VALUES,
     [prop("x", "double", quality=[
         {"mustBeGreaterThan": 0}, {"mustBeGreaterOrEqualTo": 0}, {"mustBeLessThan": 10},
         {"mustBeLessOrEqualTo": 10}, {"mustBeBetween": [0, 10]}, {"mustNotBeBetween": [0, 10]},
         {"mustBe": 5}, {"mustNotBe": 5}])], None,
     {"violations.gt:x": 3,  # 0.0, NaN, -1.0
      "violations.ge:x": 2,  # NaN, -1.0
      "violations.lt:x": 3,  # 10.0, NaN, 10.5
      "violations.le:x": 2,  # NaN, 10.5
      "violations.between:x": 3,  # NaN, -1.0, 10.5
      "violations.not_between:x": 4,  # 0.0, 5.0, 10.0, NaN
      "violations.eq:x": 5,  # all but 5.0 and null
      "violations.ne:x": 2}),  # 5.0, NaN
    ("a null in a required column fails its value check", "y int", [(1,), (0,), (None,)],
     [prop("y", "int", required=True, quality=[{"mustBeGreaterThan": 0}])], None,
     {"violations.not_null:y": 1, "violations.gt:y": 2}),
    ("enum, forbidden values, anchored and partial regex", "c string", STRINGS,
     [prop("c", quality=[{"rule": "enum", "mustBe": ["EUR", "USD"], "mustNotBe": ["XXX"]},
                         {"rule": "regex", "mustBe": "^[A-Z]{3}$"}, {"rule": "regex", "mustBe": "U"}])], None,
     {"violations.enum:c": 3,  # XXX, eur, ""
      "violations.not_enum:c": 1,  # XXX
      "violations.regex:c": 2,  # eur, ""
      "violations.regex:c#2": 3}),  # partial match: EUR and USD contain a U
    ("lengths count characters", "s string", [("héllo",), ("日本",), ("abc",), ("",), (None,)],
     [prop("s", logicalType="string", logicalTypeOptions={"minLength": 3, "maxLength": 4})], None,
     {"violations.min_length:s": 2,  # 日本 (2), "" (0)
      "violations.max_length:s": 1}),  # héllo (5)
    ("numeric options with a draft-4 exclusive flag", "n int", [(0,), (1,), (5,), (6,), (None,)],
     [prop("n", "int", logicalTypeOptions={"minimum": 0, "exclusiveMinimum": True, "exclusiveMaximum": 6})],
     None, {"violations.gt:n": 1, "violations.lt:n": 1}),
    ("pattern and formats", "e string, u string, d string, t string, ip string", [
        ("a@b.co", "123e4567-e89b-12d3-a456-426614174000", "2024-02-29", "2024-01-01T10:00:00Z", "192.168.0.1"),
        ("no-at", "123e4567e89b12d3a456426614174000", "2024-13-01", "2024-01-01 10:00", "256.1.1.1"),
        ("a@b.co\n", "00000000-0000-0000-0000-000000000000", "2024-1-1", "2024-01-01T10:00:00.5+01:00", "1.2.3"),
    ], [prop("e", logicalTypeOptions={"format": "email", "pattern": "@"}),
        prop("u", logicalTypeOptions={"format": "uuid"}), prop("d", logicalTypeOptions={"format": "date"}),
        prop("t", logicalTypeOptions={"format": "date-time"}), prop("ip", logicalTypeOptions={"format": "ipv4"})],
     None, {"violations.regex:e": 1, "violations.format:e": 2, "violations.format:u": 1,
            "violations.format:d": 2, "violations.format:t": 1, "violations.format:ip": 2}),
    ("nested fields under optional parents", "customer struct<name:string, address:struct<zip:string>>", NESTED,
     [prop("customer", "object", properties=[
         prop("name", required=True),
         prop("address", "object", properties=[
             prop("zip", required=True, quality=[{"rule": "regex", "mustBe": "^[0-9]{5}$"}])])])], None,
     {"violations.not_null:customer.name": 1, "violations.not_null:customer.address.zip": 1,
      "violations.regex:customer.address.zip": 2}),
    ("array options", "t array<string>", [(["a", "b"],), ([],), (["a", "a", "b", "c"],), (None,)],
     [prop("t", "array<string>", logicalTypeOptions={"minItems": 1, "maxItems": 3, "uniqueItems": True})], None,
     {"violations.min_items:t": 1, "violations.max_items:t": 1, "violations.unique_items:t": 1}),
    ("mismatched literals become NULL under ANSI instead of raising", "s string, n int, d date",
     [("5", 1, dt.date(2023, 12, 31)), ("abc", 2, dt.date(2024, 1, 1)), ("-1", None, None)],
     [prop("s", quality=[{"mustBeGreaterThan": 0}, {"metric": "missingValues", "arguments": {"missingValues": [0]}},
                         {"metric": "invalidValues", "arguments": {"validValues": [5, -1]}}]),
      prop("n", "int", quality=[{"rule": "enum", "mustBe": ["1", "a"]}]),
      prop("d", "date", logicalType="date", logicalTypeOptions={"minimum": "2024-01-01"})], None,
     {"violations.gt:s": 2,  # "abc" is not a number, -1 <= 0
      "violations.enum:n": 1,  # 2; "a" can never be an int
      "violations.ge:d": 1,  # 2023-12-31
      "metrics.invalid_values:s": 1,  # "abc"
      "metrics.missing_values:s": 0}),
    ("library metrics measure counts", "s string", LIBRARY,
     [prop("s", quality=[
         {"metric": "nullValues", "mustBeLessThan": 50, "unit": "percent"},
         {"metric": "missingValues"},
         {"metric": "missingValues", "arguments": {"missingValues": ["n/a", None]}, "mustBeLessThan": 5},
         {"metric": "invalidValues", "arguments": {"validValues": ["a", "b"]}, "mustBeLessThan": 5},
         {"metric": "invalidValues", "arguments": {"pattern": "^[a-z]$"}, "mustBeLessThan": 5},
         {"metric": "duplicateValues", "mustBeLessThan": 5}])], None,
     {"row_count": 8,
      "metrics.null_values:s": 2,
      "metrics.missing_values:s": 3,  # 2 nulls + ""
      "metrics.missing_values:s#2": 3,  # 2 nulls + n/a
      "metrics.invalid_values:s": 3,  # "", n/a, zz (nulls are not invalid)
      "metrics.invalid_values:s#2": 3,  # "", n/a, zz
      "metrics.duplicate_values:s": 1}),  # the second "a"
    ("object-level rules", "a int, b string", ROWS, [prop("a", "int"), prop("b")], [
        {"metric": "rowCount", "mustBeGreaterThan": 0},
        {"rule": "duplicateRows"},
        {"metric": "duplicateValues", "arguments": {"properties": ["a"]}, "mustBeLessThan": 10}],
     {"metrics.row_count:orders": 5,
      "metrics.duplicate_rows:orders": 2,  # (1, x) twice and (1, null) twice
      "metrics.duplicate_rows:a": 3}),  # a = 1 four times
    ("SQL rules: one value each, NULL kept", "a int, b string", ROWS,
     [prop("a", "int", quality=[{"type": "sql", "query": "SELECT MAX(${property}) FROM {object}",
                                 "mustBeLessThan": 9}])], [
        {"type": "sql", "query": "SELECT COUNT(*) FROM ${object} WHERE a > 1", "mustBe": 0},
        {"type": "sql", "query": "SELECT AVG(a) FROM ${object} WHERE a > 100", "mustBe": 0},
        {"type": "sql", "query": "SELECT AVG(a) FROM ${object}", "mustBe": 0}],
     {"metrics.sql:a": 2, "metrics.sql:orders": 1, "metrics.sql:orders#2": None, "metrics.sql:orders#3": 1.2}),
]


@pytest.mark.parametrize(("schema", "rows", "properties", "quality", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_rule_counts_exactly(spark, schema, rows, properties, quality, expected) -> None:
    df = spark.createDataFrame(rows, schema)
    metrics = measure(df, contract(*properties, quality=quality))
    assert {key: metrics[key] for key in expected} == expected
    assert metrics["row_count"] == len(rows)


def test_nan_checks_need_column_types(spark) -> None:
    df = spark.createDataFrame(VALUES, "x double")
    plan, _ = plan_contract(contract(prop("x", "double", quality=[{"mustBeGreaterOrEqualTo": 0}])))
    assert compile_plan(plan).measure(df)["violations.ge:x"] == 1  # Spark orders NaN above 0
    assert compile_plan(plan, types=types_of(df.schema)).measure(df)["violations.ge:x"] == 2


def test_aligned_columns_are_checked_instead_of_raw_ones(spark) -> None:
    from pyspark.sql import functions as F

    df = spark.createDataFrame([("1",), ("x",), ("-3",)], "n string")
    aligned = {"n": F.expr("try_cast(n AS int)").alias("n")}
    plan, _ = plan_contract(contract(prop("n", "int", quality=[{"mustBeGreaterThan": 0}]),
                                     quality=[{"type": "sql", "query": "SELECT SUM(n) FROM ${object}"}]))
    metrics = compile_plan(plan, columns=aligned).measure(df)
    assert metrics["violations.gt:n"] == 1  # -3; the lost "x" is the cast check's business
    assert metrics["metrics.sql:orders"] == -2  # the SQL view sees the aligned int column


def test_approximate_plans_run_in_observe(spark) -> None:
    df = spark.createDataFrame([(1, "x"), (1, "x"), (None, "y"), (2, None)], "a bigint, b string")
    c = contract(prop("a", "bigint", unique=True, primaryKey=True, primaryKeyPosition=1),
                 prop("b", primaryKey=True, primaryKeyPosition=2), quality=[{"rule": "duplicateRows"}])
    plan = compile_plan(plan_contract(c)[0], approximate_distinct=True)
    assert plan.approximate and plan.row_aggregations_only
    observation = Observation("dc43")
    df.observe(observation, *plan.aggregations).collect()
    metrics = plan.metrics_from_row(Row(**observation.get))
    exact = compile_plan(plan_contract(c)[0]).measure(df)
    assert metrics == exact == {"row_count": 4, "violations.unique:a": 1, "violations.primary_key:a,b": 3,
                                "metrics.duplicate_rows:orders": 1}


def test_sql_rules_persist_the_batch_only_while_measuring(spark) -> None:
    c = contract(prop("a", "int"), quality=[{"type": "sql", "query": "SELECT COUNT(*) FROM ${object}"}])
    plan = compile_plan(plan_contract(c)[0])
    assert not plan.row_aggregations_only and [e.key for e in plan.sql_rules] == ["sql:orders"]
    views = {t.name for t in spark.catalog.listTables()}
    df = spark.createDataFrame([(1,), (2,)], "a int")
    assert plan.measure(df)["metrics.sql:orders"] == 2
    assert not df.is_cached
    cached = spark.createDataFrame([(1,)], "a int").cache()
    assert plan.measure(cached)["metrics.sql:orders"] == 1
    assert cached.is_cached  # the caller's cache is left alone
    cached.unpersist()
    assert {t.name for t in spark.catalog.listTables()} == views


@pytest.mark.parametrize(("query", "problem"), [
    ("SELECT COUNT(*) FROM ${object} WHERE nope > 1", "SQL rule 'sql:orders' failed: .*Fix its query"),
    ("SELECT a FROM ${object}", "returned 2 row\\(s\\) of 1 column\\(s\\)"),
    ("SELECT 'x' FROM ${object} LIMIT 1", "returned 'x', not a number"),
])
def test_broken_sql_rules_name_the_rule_and_the_fix(spark, query, problem) -> None:
    df = spark.createDataFrame([(1,), (2,)], "a int")
    plan = compile_plan(plan_contract(contract(prop("a", "int"), quality=[{"type": "sql", "query": query}]))[0])
    with pytest.raises(Dc43Error, match=problem):
        plan.measure(df)
    assert not df.is_cached


VERDICT_CONTRACT = contract(
    prop("id", "bigint", required=True),
    prop("amount", "double", quality=[{"mustBeGreaterOrEqualTo": 0, "severity": "warning"}]),
    prop("note", quality=[{"rule": "regex", "mustBe": "^ok", "severity": "info"},
                          {"metric": "nullValues", "mustBeLessOrEqualTo": 25, "unit": "percent"},
                          {"type": "text", "description": "spelled right"}]),
    quality=[{"metric": "rowCount", "mustBeGreaterOrEqualTo": 2, "severity": "warning"},
             {"type": "sql", "query": "SELECT COUNT(*) FROM ${object} WHERE amount > 100",
              "mustBeLessThan": 2}],
)


def judge(spark, rows: list[tuple]) -> Any:
    df = spark.createDataFrame(rows, "id bigint, amount double, note string")
    plan, _ = plan_contract(VERDICT_CONTRACT)
    metrics = compile_plan(plan, types=types_of(df.schema)).measure(df)
    return LocalDataQualityService().evaluate(contract=VERDICT_CONTRACT, payload=ObservationPayload(metrics=metrics))


UNKNOWN = ("text:note: rule 'text' on column 'note' was not evaluated: 'type: text' rules are not evaluated by "
           "dc43; use type library or sql")


def test_clean_data_still_warns_about_the_rule_it_could_not_check(spark) -> None:
    result = judge(spark, [(1, 5.0, "ok"), (2, 200.0, "ok!"), (3, 1.0, "ok"), (4, 0.0, None)])
    assert result.status == "warn" and result.errors == [] and result.warnings == [UNKNOWN]
    rules = {r["key"]: r for r in result.details["rules"]}
    assert rules["null_values:note"]["violations"] == 25.0 and rules["null_values:note"]["passed"] is True
    assert rules["sql:orders"]["violations"] == 1 and rules["sql:orders"]["passed"] is True
    assert rules["text:note"]["evaluated"] is False and rules["text:note"]["passed"] is None


def test_info_is_reported_warning_warns_error_blocks(spark) -> None:
    result = judge(spark, [(1, -5.0, "bad")])
    assert result.status == "warn"
    assert result.warnings == ["ge:amount: 1 row(s) violate ge", "row_count:orders: row_count is 1 but must be >= 2",
                               UNKNOWN]
    regex = next(r for r in result.details["rules"] if r["key"] == "regex:note")
    assert (regex["severity"], regex["violations"], regex["passed"]) == ("info", 1, False)
    blocked = judge(spark, [(None, 500.0, None), (2, 300.0, "ok")])
    assert blocked.status == "block"
    assert blocked.errors == ["not_null:id: 1 row(s) violate not_null",
                              "null_values:note: null_values is 50% but must be <= 25%",
                              "sql:orders: sql is 2 but must be < 2"]
