"""Contract fragments -> expectation plans, without Spark."""

from __future__ import annotations

import re
from typing import Any

import pytest
from dc43.errors import ContractFormatError, SchemaMappingError
from dc43.quality import Expectation, LocalDataQualityService, plan_contract
from dc43.quality.plan import FORMATS, total_violations
from dc43.results import ObservationPayload
from open_data_contract_standard.model import OpenDataContractStandard


def contract(*properties: dict[str, Any], quality: list[dict[str, Any]] | None = None,
             extra_objects: list[dict[str, Any]] = ()) -> OpenDataContractStandard:
    obj: dict[str, Any] = {"name": "orders", "properties": list(properties)}
    if quality:
        obj["quality"] = quality
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.orders", "version": "1.0.0",
        "schema": [obj, *extra_objects],
    })


def prop(name: str, physical: str = "string", **fields: Any) -> dict[str, Any]:
    return {"name": name, "physicalType": physical, **fields}


def summary(e: Expectation) -> tuple[Any, ...]:
    """key, rule, params, severity, and for threshold rules threshold and unit."""
    base = (e.key, e.rule, dict(e.params), e.severity)
    return base if e.threshold is None else (*base, dict(e.threshold), e.unit)


ACROSS_ID = ("unique_across:id", "unique_across", {"columns": ["id"], "horizon": {}}, "error")

# (id, properties, object-level quality, expected summaries)
CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None, list[tuple[Any, ...]]]] = [
    ("required", [prop("id", "bigint", required=True)], None,
     [("not_null:id", "not_null", {}, "error")]),
    ("unique", [prop("id", "bigint", unique=True)], None,
     [("unique:id", "unique", {}, "error"), ACROSS_ID]),
    ("single primary key = not null + unique, merged with required/unique",
     [prop("id", "bigint", primaryKey=True, required=True, unique=True)], None,
     [("not_null:id", "not_null", {}, "error"), ("unique:id", "unique", {}, "error"), ACROSS_ID]),
    ("composite primary key in primaryKeyPosition order",
     [prop("a", "bigint", primaryKey=True, primaryKeyPosition=2),
      prop("b", primaryKey=True, primaryKeyPosition=1)], None,
     [("primary_key:b,a", "primary_key", {"columns": ["b", "a"]}, "error"),
      ("unique_across:b,a", "unique_across", {"columns": ["b", "a"], "horizon": {}}, "error")]),
    ("value checks", [prop("x", "double", quality=[
        {"mustBe": 1}, {"mustNotBe": 2}, {"mustBeGreaterThan": 3}, {"mustBeGreaterOrEqualTo": 4},
        {"mustBeLessThan": 5}, {"mustBeLessOrEqualTo": 6}, {"mustBeBetween": [7, 8]},
        {"mustNotBeBetween": [9, 10]}])], None,
     [("eq:x", "eq", {"value": 1}, "error"), ("ne:x", "ne", {"value": 2}, "error"),
      ("gt:x", "gt", {"value": 3}, "error"), ("ge:x", "ge", {"value": 4}, "error"),
      ("lt:x", "lt", {"value": 5}, "error"), ("le:x", "le", {"value": 6}, "error"),
      ("between:x", "between", {"low": 7, "high": 8}, "error"),
      ("not_between:x", "not_between", {"low": 9, "high": 10}, "error")]),
    ("two operators in one rule", [prop("x", "int", quality=[
        {"mustBeGreaterOrEqualTo": 0, "mustBeLessThan": 100, "severity": "warning"}])], None,
     [("ge:x", "ge", {"value": 0}, "warning"), ("lt:x", "lt", {"value": 100}, "warning")]),
    ("enum allowed and forbidden", [prop("c", quality=[
        {"rule": "enum", "mustBe": ["EUR", "USD"], "mustNotBe": ["XXX"], "severity": "info"}])], None,
     [("enum:c", "enum", {"values": ["EUR", "USD"]}, "info"),
      ("not_enum:c", "not_enum", {"values": ["XXX"]}, "info")]),
    ("property enum", [prop("c", enum=[{"value": "a"}, {"value": "b"}])], None,
     [("enum:c", "enum", {"values": ["a", "b"]}, "error")]),
    ("regex", [prop("e", quality=[{"rule": "regex", "mustBe": "^[a-z]+$"}])], None,
     [("regex:e", "regex", {"pattern": "^[a-z]+$"}, "error")]),
    ("numeric bounds", [prop("x", "int", logicalTypeOptions={
        "minimum": 0, "maximum": 10, "exclusiveMinimum": -1, "exclusiveMaximum": 11})], None,
     [("ge:x", "ge", {"value": 0}, "error"), ("gt:x", "gt", {"value": -1}, "error"),
      ("le:x", "le", {"value": 10}, "error"), ("lt:x", "lt", {"value": 11}, "error")]),
    ("draft-4 boolean exclusive bounds", [prop("x", "int", logicalTypeOptions={
        "minimum": 0, "exclusiveMinimum": True, "maximum": 10, "exclusiveMaximum": False})], None,
     [("gt:x", "gt", {"value": 0}, "error"), ("le:x", "le", {"value": 10}, "error")]),
    ("string options", [prop("s", logicalType="string", logicalTypeOptions={
        "minLength": 2, "maxLength": 5, "pattern": "^a", "format": "Email"})], None,
     [("min_length:s", "min_length", {"value": 2}, "error"),
      ("max_length:s", "max_length", {"value": 5}, "error"),
      ("regex:s", "regex", {"pattern": "^a"}, "error"),
      ("format:s", "format", {"format": "email", "pattern": FORMATS["email"]}, "error")]),
    ("date format and timezone describe a representation", [prop("d", "date", logicalType="date",
        logicalTypeOptions={"format": "yyyy-MM-dd", "timezone": "UTC"})], None, []),
    ("array options", [prop("t", "array<string>", logicalTypeOptions={
        "minItems": 1, "maxItems": 3, "uniqueItems": True})], None,
     [("min_items:t", "min_items", {"value": 1}, "error"),
      ("max_items:t", "max_items", {"value": 3}, "error"),
      ("unique_items:t", "unique_items", {}, "error")]),
    ("nested paths", [prop("customer", "object", properties=[
        prop("address", "object", required=True, properties=[
            prop("zip", required=True, quality=[{"rule": "regex", "mustBe": "^[0-9]{5}$"}])])])], None,
     [("not_null:customer.address", "not_null", {}, "error"),
      ("not_null:customer.address.zip", "not_null", {}, "error"),
      ("regex:customer.address.zip", "regex", {"pattern": "^[0-9]{5}$"}, "error")]),
    ("library metrics", [prop("s", quality=[
        {"metric": "nullValues"},
        {"metric": "missingValues", "mustBeLessThan": 10, "unit": "percent"},
        {"metric": "missingValues", "arguments": {"missingValues": ["n/a"]}, "mustBeLessThan": 3},
        {"metric": "invalidValues", "arguments": {"validValues": ["a"], "pattern": "^a$"}, "mustBe": 0},
        {"rule": "duplicateValues", "mustBeLessOrEqualTo": 1, "severity": "warning"}]),
      prop("n", "int", quality=[{"metric": "missingValues"}])], None,
     [("null_values:s", "null_values", {}, "error", {"mustBe": 0}, "rows"),
      ("missing_values:s", "missing_values", {"values": [None, ""]}, "error", {"mustBeLessThan": 10}, "percent"),
      ("missing_values:s#2", "missing_values", {"values": ["n/a"]}, "error", {"mustBeLessThan": 3}, "rows"),
      ("invalid_values:s", "invalid_values", {"values": ["a"], "pattern": "^a$"}, "error", {"mustBe": 0}, "rows"),
      ("duplicate_values:s", "duplicate_values", {}, "warning", {"mustBeLessOrEqualTo": 1}, "rows"),
      ("missing_values:n", "missing_values", {"values": [None]}, "error", {"mustBe": 0}, "rows")]),
    ("object-level rules", [prop("a", "int"), prop("b")], [
        {"metric": "rowCount", "mustBeBetween": [1, 100]},
        {"rule": "duplicateRows", "severity": "warning"},
        {"metric": "duplicateValues", "arguments": {"properties": ["a", "b"]}, "mustBeLessThan": 2},
        {"type": "sql", "query": "SELECT COUNT(*) FROM ${object} WHERE a > b", "mustBe": 0}],
     [("row_count:orders", "row_count", {}, "error", {"mustBeBetween": [1, 100]}, "rows"),
      ("duplicate_rows:orders", "duplicate_rows", {"columns": ["a", "b"]}, "warning", {"mustBe": 0}, "rows"),
      ("duplicate_rows:a,b", "duplicate_rows", {"columns": ["a", "b"]}, "error", {"mustBeLessThan": 2}, "rows"),
      ("sql:orders", "sql", {"query": "SELECT COUNT(*) FROM ${object} WHERE a > b", "tables": ["orders"]}, "error",
       {"mustBe": 0}, "rows")]),
    ("property SQL rule substitutes the quoted property", [prop("a", "int", quality=[
        {"type": "sql", "query": "SELECT MAX({property}) FROM {object}", "mustBeLessThan": 9}])], None,
     [("sql:a", "sql", {"query": "SELECT MAX(`a`) FROM {object}", "tables": ["orders"]}, "error", {"mustBeLessThan": 9},
       "rows")]),
    ("identical rules merge to the strictest severity", [prop("x", "int", quality=[
        {"mustBeGreaterThan": 0, "severity": "info"}, {"mustBeGreaterThan": 0}])], None,
     [("gt:x", "gt", {"value": 0}, "error")]),
    ("different rules with one key get a suffix", [prop("x", "int", quality=[
        {"mustBeGreaterThan": 0}, {"mustBeGreaterThan": 5, "severity": "warning"}])], None,
     [("gt:x", "gt", {"value": 0}, "error"), ("gt:x#2", "gt", {"value": 5}, "warning")]),
]


@pytest.mark.parametrize(("properties", "quality", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_contract_fragments_plan_as_expected(properties, quality, expected) -> None:
    plan, unsupported = plan_contract(contract(*properties, quality=quality))
    assert [summary(e) for e in plan] == expected
    assert unsupported == []


def test_optional_flags_and_parents() -> None:
    plan, _ = plan_contract(contract(
        prop("a", "int", quality=[{"mustBeGreaterThan": 0}]),
        prop("b", "int", required=True, quality=[{"mustBeGreaterThan": 0}]),
        prop("s", "object", properties=[prop("z", "int", required=True)]),
    ))
    flags = {e.key: (e.optional, e.optional_parent) for e in plan}
    assert flags == {"gt:a": (True, ""), "not_null:b": (False, ""), "gt:b": (False, ""),
                     "not_null:s.z": (False, "s")}


# (id, properties, object-level quality, expected keys of the unsupported rules, whether written wrongly)
UNSUPPORTED = [
    ("unknown property rule", [prop("x", quality=[{"rule": "freshness"}])], None, ["freshness:x"], True),
    ("text rule", [prop("x", quality=[{"type": "text", "description": "looks fine"}])], None, ["text:x"], False),
    ("custom engine", [prop("x", quality=[{"type": "custom", "engine": "soda", "metric": "m"}])], None, ["m:x"],
     False),
    ("unknown rule type", [prop("x", quality=[{"type": "sqll", "query": "SELECT 1"}])], None, ["sqll:x"], True),
    ("sql without query", [prop("x", quality=[{"type": "sql", "mustBe": 0}])], None, ["sql:x"], True),
    ("no operator", [prop("x", quality=[{"description": "nothing to check"}])], None, ["quality:x"], True),
    ("list mustBe without enum", [prop("x", quality=[{"mustBe": [1, 2]}])], None, ["eq:x"], True),
    ("enum without list", [prop("x", quality=[{"rule": "enum", "mustBe": "a"}])], None, ["enum:x"], True),
    ("regex without pattern", [prop("x", quality=[{"rule": "regex"}])], None, ["regex:x"], True),
    ("between low > high", [prop("x", "int", quality=[{"mustBeBetween": [5, 1]}])], None, ["between:x"], True),
    ("NaN limit", [prop("x", "double", quality=[{"mustBeGreaterThan": float("nan")}])], None, ["gt:x"], True),
    ("text limit on a number", [prop("x", "int", quality=[{"mustBe": "ten"}])], None, ["eq:x"], True),
    ("unchecked format", [prop("x", logicalTypeOptions={"format": "uri"})], None, ["format:x"], False),
    ("unchecked option", [prop("x", logicalTypeOptions={"minProperties": 1})], None, ["minProperties:x"], False),
    ("misspelled option", [prop("x", logicalTypeOptions={"maxLenght": 1})], None, ["maxLenght:x"], True),
    ("exclusive flag without bound", [prop("x", "int", logicalTypeOptions={"exclusiveMinimum": True})],
     None, ["exclusiveMinimum:x"], True),
    ("invalidValues without arguments", [prop("x", quality=[{"metric": "invalidValues"}])], None,
     ["invalid_values:x"], True),
    ("unknown unit", [prop("x", quality=[{"metric": "nullValues", "unit": "bytes"}])], None, ["null_values:x"],
     True),
    ("non-numeric threshold", [prop("x", quality=[{"metric": "nullValues", "mustBe": "none"}])], None,
     ["null_values:x"], True),
    ("inverted threshold", [prop("x", quality=[{"metric": "nullValues", "mustBeBetween": [9, 1]}])], None,
     ["null_values:x"], True),
    ("array elements", [prop("t", "array", items={"physicalType": "string", "quality": [{"mustBe": "a"}]})],
     None, ["quality:t[]"], False),
    ("unknown object rule", [prop("x")], [{"metric": "freshness"}], ["freshness:orders"], True),
    ("rowCount without threshold", [prop("x")], [{"metric": "rowCount"}], ["rowCount:orders"], True),
]


@pytest.mark.parametrize(("properties", "quality", "keys", "malformed"), [c[1:] for c in UNSUPPORTED],
                         ids=[c[0] for c in UNSUPPORTED])
def test_rules_the_engine_cannot_evaluate_are_reported(properties, quality, keys, malformed) -> None:
    plan, unsupported = plan_contract(contract(*properties, quality=quality))
    assert [u.key for u in unsupported] == keys
    assert all(u.reason and u.key in u.message for u in unsupported)
    assert [u.malformed for u in unsupported] == [malformed]
    if malformed:  # a pipeline refuses it, naming it; a rule it only does not evaluate is a warning
        with pytest.raises(ContractFormatError, match=keys[0]):
            LocalDataQualityService().describe_expectations(contract=contract(*properties, quality=quality))
    else:
        LocalDataQualityService().describe_expectations(contract=contract(*properties, quality=quality))


@pytest.mark.parametrize(("rule", "suggestion"), [
    ({"rule": "regexp", "mustBe": "^a"}, "did you mean 'regex'"),
    ({"metric": "nullValuez"}, "did you mean 'nullValues'"),
    ({"mustBeBetween": [10, 0]}, "write [0, 10]"),
    ({"metric": "nullValues", "unit": "percnt"}, "did you mean 'percent'"),
])
def test_a_rule_written_wrongly_is_refused_with_the_fix(rule: dict, suggestion: str) -> None:
    with pytest.raises(ContractFormatError, match=re.escape(suggestion)):
        LocalDataQualityService().describe_expectations(contract=contract(prop("x", "int", quality=[rule])))


def test_unsupported_rules_keep_their_severity_and_description() -> None:
    _, (u,) = plan_contract(contract(prop("x", quality=[
        {"type": "text", "description": "plausible values", "severity": "warning"}])))
    assert (u.key, u.rule, u.column, u.severity, u.description) == ("text:x", "text", "x", "warning",
                                                                   "plausible values")


def test_unknown_severity_is_an_error_with_a_note() -> None:
    (e,), _ = plan_contract(contract(prop("x", "int", quality=[{"mustBeGreaterThan": 0, "severity": "Critical"}])))
    assert e.severity == "error"
    assert "severity 'Critical'" in e.note and "treated as error" in e.note
    (w,), _ = plan_contract(contract(prop("x", "int", quality=[{"mustBeGreaterThan": 0, "severity": "WARNING"}])))
    assert (w.severity, w.note) == ("warning", "")


def test_the_plan_covers_one_schema_object() -> None:
    c = contract(prop("a", required=True), extra_objects=[{"name": "other", "properties": [
        prop("b", required=True)]}])
    assert [e.key for e in plan_contract(c)[0]] == ["not_null:a"]
    assert [e.key for e in plan_contract(c, "other")[0]] == ["not_null:b"]
    with pytest.raises(SchemaMappingError, match="no schema object 'nope'.*'orders', 'other'"):
        plan_contract(c, "nope")


def test_metric_names_and_totals() -> None:
    plan, _ = plan_contract(contract(prop("x", required=True, quality=[{"metric": "nullValues", "mustBeLessThan": 5}])))
    assert [e.metric for e in plan] == ["violations.not_null:x", "metrics.null_values:x"]
    assert total_violations({"row_count": 9, "violations.a": 2, "violations.b": 1, "metrics.c": 7}) == 3


def test_expectations_coerce_from_mappings() -> None:
    e = Expectation.coerce({"key": "k", "rule": "gt", "column": "c", "params": {"value": 1},
                            "threshold": None})
    assert e.metric == "violations.k"
    with pytest.raises(ValueError, match="unknown fields \\['bogus'\\]"):
        Expectation.coerce({"key": "k", "rule": "gt", "column": "c", "bogus": 1})


RULES_CONTRACT = contract(
    prop("id", "bigint", required=True),
    prop("s", quality=[{"metric": "nullValues", "mustBeLessThan": 25, "unit": "percent", "severity": "warning"},
                       {"rule": "regex", "mustBe": "^a", "severity": "info"}]),
    prop("x", quality=[{"type": "text", "description": "looks right"}]),
    quality=[{"metric": "rowCount", "mustBeGreaterOrEqualTo": 2}],
)


def verdict(**metrics: Any) -> Any:
    return LocalDataQualityService().evaluate(contract=RULES_CONTRACT, payload=ObservationPayload(metrics=metrics))


def test_the_service_judges_each_rule_and_reports_the_unsupported_one() -> None:
    result = verdict(**{"row_count": 4, "violations.not_null:id": 0, "metrics.null_values:s": 1,
                        "violations.regex:s": 3, "metrics.row_count:orders": 4})
    assert result.status == "warn" and result.errors == []
    assert result.warnings == ["null_values:s: null_values is 25% but must be < 25%",
                               "text:x: rule 'text' on column 'x' was not evaluated: 'type: text' rules are not "
                               "evaluated by dc43; use type library or sql"]
    rules = {r["key"]: r for r in result.details["rules"]}
    assert {k: (r["evaluated"], r["passed"], r["violations"]) for k, r in rules.items()} == {
        "not_null:id": (True, True, 0),
        "null_values:s": (True, False, 25.0),  # 1 of 4 rows = 25%, not < 25%
        "regex:s": (True, False, 3),  # info: reported only
        "row_count:orders": (True, True, 4),
        "text:x": (False, None, None),
    }
    assert rules["null_values:s"]["threshold"] == {"mustBeLessThan": 25}
    assert set(rules["not_null:id"]) == {"key", "rule", "column", "severity", "metric", "params", "unit",
                                         "violations", "threshold", "passed", "evaluated", "description", "note",
                                         "data_column"}


def test_the_service_blocks_warns_and_reports_by_severity() -> None:
    failing = verdict(**{"row_count": 1, "violations.not_null:id": 1, "metrics.null_values:s": 1,
                         "violations.regex:s": 0, "metrics.row_count:orders": 1})
    assert failing.status == "block"
    assert failing.errors == ["not_null:id: 1 row(s) violate not_null",
                              "row_count:orders: row_count is 1 but must be >= 2"]
    assert failing.warnings[0] == "null_values:s: null_values is 100% but must be < 25%"


def test_missing_metrics_leave_rules_unevaluated() -> None:
    result = LocalDataQualityService().evaluate(
        contract=contract(prop("s", quality=[{"metric": "nullValues", "unit": "percent"}])),
        payload=ObservationPayload(metrics={"metrics.null_values:s": 0}))
    assert result.status == "unknown" and result.reason == "no metrics for null_values:s"
    assert result.details["rules"][0]["evaluated"] is False


@pytest.mark.parametrize(("physical", "rules"), [
    ("varchar(2)", [("max_length:x", "max_length", {"value": 2})]),
    ("int unsigned", [("between:x", "between", {"low": 0, "high": 4294967295})]),
    ("bigint unsigned", [("ge:x", "ge", {"value": 0})]),
    ("float(5,2)", [("between:x", "between", {"low": -999.99, "high": 999.99})]),
    ("enum('a','b')", [("enum:x", "enum", {"values": ["a", "b"]})]),
    ("varchar(2)[]", []), ("decimal(5,2)", []), ("text", []), ("int4range", []),
])
def test_what_a_physical_type_declares_becomes_rules(physical: str, rules: list) -> None:
    plan, unsupported = plan_contract(contract(prop("x", physical)))
    assert unsupported == []
    assert [(e.key, e.rule, dict(e.params)) for e in plan] == rules
    assert all(e.description == f"physicalType {physical}" for e in plan)


def test_sql_rules_know_the_names_of_their_table() -> None:
    named = contract(prop("a", "int"), quality=[{"type": "sql", "query": "SELECT COUNT(*) FROM orders", "mustBe": 0}])
    named.schema_[0].physicalName = "tbl_orders"
    (rule,), _ = plan_contract(named)
    assert rule.params["tables"] == ["orders", "tbl_orders"]
