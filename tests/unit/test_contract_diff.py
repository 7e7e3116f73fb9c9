"""The diff between two contract versions, without Spark."""

from __future__ import annotations

from typing import Any

import pytest
from dc43.contracts.diff import Change, diff_contracts
from open_data_contract_standard.model import OpenDataContractStandard

from tests.unit.contract_builders import contract, prop


def only(old: OpenDataContractStandard, new: OpenDataContractStandard) -> Change:
    changes = diff_contracts(old, new).changes
    assert len(changes) == 1, changes
    return changes[0]


BASE = (prop("id", "bigint", primaryKey=True), prop("amount", "double"))


def test_identical_contracts_have_no_changes() -> None:
    old = contract(*BASE, quality=[{"metric": "rowCount", "mustBeGreaterThan": 0}],
                   slas=[{"property": "frequency", "value": 1, "unit": "h"}])
    diff = diff_contracts(old, contract(*BASE, quality=[{"metric": "rowCount", "mustBeGreaterThan": 0}],
                                        slas=[{"property": "frequency", "value": 1, "unit": "h"}], version="1.0.1"))
    assert diff.changes == () and not diff.breaking


def test_a_removed_column_breaks_consumers() -> None:
    change = only(contract(*BASE), contract(BASE[0]))
    assert (change.kind, change.where, change.before, change.after, change.breaking) == (
        "column_removed", "orders.amount", "double", None, True)
    assert "Consumers reading 'amount' break" in change.why


def test_an_optional_column_added_breaks_no_one() -> None:
    diff = diff_contracts(contract(*BASE), contract(*BASE, prop("note", quality=[{"mustNotBe": "x"}])))
    [change] = diff.changes  # its rules are part of the new column, not changes of their own
    assert (change.kind, change.where, change.after, change.breaking) == ("column_added", "orders.note", "string",
                                                                          False)
    assert not diff.breaking and "nothing breaks" in change.why


def test_a_required_column_added_breaks_producers() -> None:
    change = only(contract(*BASE), contract(*BASE, prop("shop", required=True)))
    assert (change.kind, change.after, change.breaking) == ("column_added", "string, required", True)
    assert "breaks producers" in change.why


@pytest.mark.parametrize(("before", "after", "kind", "breaking"), [
    ("bigint", "int", "type_narrowed", True),
    ("double", "float", "type_narrowed", True),
    ("string", "int", "type_narrowed", True),
    ("timestamp", "date", "type_narrowed", True),
    ("decimal(10,2)", "decimal(8,2)", "type_narrowed", True),
    ("int", "bigint", "type_widened", False),
    ("float", "double", "type_widened", False),
    ("int", "decimal(12,2)", "type_widened", False),
    ("bigint", "double", "type_widened", False),
    ("double", "bigint", "type_narrowed", True),
    ("decimal(10,2)", "int", "type_narrowed", True),
    ("date", "timestamp", "type_widened", False),
    ("array<int>", "array<bigint>", "type_widened", False),
    ("int", "string", "type_changed", True),
    ("boolean", "date", "type_changed", True),
    ("timestamp", "timestamp_ntz", "type_changed", True),
])
def test_type_changes_by_direction(before: str, after: str, kind: str, breaking: bool) -> None:
    change = only(contract(prop("x", before)), contract(prop("x", after)))
    assert (change.kind, change.where, change.before, change.after, change.breaking) == (
        kind, "orders.x", before, after, breaking)
    assert before in change.why and after in change.why


def test_type_aliases_and_logical_types_compare_by_what_they_hold() -> None:
    assert diff_contracts(contract(prop("x", "integer")), contract(prop("x", "INT"))).changes == ()
    assert diff_contracts(contract(prop("x", "bigint")),
                          contract({"name": "x", "logicalType": "integer"})).changes == ()
    change = only(contract({"name": "x", "logicalType": "number"}), contract({"name": "x", "logicalType": "integer"}))
    assert (change.kind, change.breaking) == ("type_narrowed", True)


def test_a_column_becoming_required_breaks_producers_and_optional_does_not() -> None:
    optional, required = contract(*BASE), contract(BASE[0], prop("amount", "double", required=True))
    change = only(optional, required)
    assert (change.kind, change.before, change.after, change.breaking) == ("became_required", "optional",
                                                                            "required", True)
    assert "producers that leave it empty break" in change.why
    change = only(required, optional)
    assert (change.kind, change.breaking) == ("became_optional", False)
    assert "every row that passed still passes" in change.why


def test_a_renamed_data_column_breaks_readers() -> None:
    change = only(contract(*BASE), contract(BASE[0], prop("amount", "double", physicalName="amt")))
    assert (change.kind, change.where, change.before, change.after, change.breaking) == (
        "physical_name_changed", "orders.amount", "amount", "amt", True)


def test_rules_added_and_removed() -> None:
    plain = contract(*BASE)
    checked = contract(BASE[0], prop("amount", "double", quality=[{"mustBeGreaterThan": 0}]))
    added = only(plain, checked)
    assert (added.kind, added.where, added.before, added.after, added.breaking) == (
        "rule_added", "orders.amount", None, "must be greater than 0", True)
    assert added.why == "Data that passed before may now fail and block the batch."
    removed = only(checked, plain)
    assert (removed.kind, removed.before, removed.breaking) == ("rule_removed", "must be greater than 0", False)
    assert "still passes" in removed.why


def test_an_info_rule_added_breaks_no_one() -> None:
    change = only(contract(*BASE), contract(BASE[0], prop("amount", "double", quality=[
        {"mustBeGreaterThan": 0, "severity": "info"}])))
    assert (change.kind, change.after, change.breaking) == ("rule_added", "must be greater than 0 (info)", False)
    assert "only reported" in change.why


def amount_rule(**rule: Any) -> OpenDataContractStandard:
    return contract(BASE[0], prop("amount", "double", quality=[rule]))


@pytest.mark.parametrize(("before", "after", "kind"), [
    ({"mustBeLessThan": 20}, {"mustBeLessThan": 10}, "rule_tightened"),
    ({"mustBeLessThan": 10}, {"mustBeLessThan": 20}, "rule_loosened"),
    ({"mustBeGreaterThan": 0}, {"mustBeGreaterThan": 5}, "rule_tightened"),
    ({"mustBeGreaterOrEqualTo": 5}, {"mustBeGreaterOrEqualTo": 0}, "rule_loosened"),
    ({"mustBeBetween": [0, 100]}, {"mustBeBetween": [10, 100]}, "rule_tightened"),
    ({"mustBeBetween": [10, 90]}, {"mustBeBetween": [0, 100]}, "rule_loosened"),
    ({"mustBeBetween": [0, 50]}, {"mustBeBetween": [10, 100]}, "rule_changed"),
    ({"mustNotBeBetween": [0, 10]}, {"mustNotBeBetween": [0, 20]}, "rule_tightened"),
    ({"mustBe": 1}, {"mustBe": 2}, "rule_changed"),
    ({"metric": "nullValues", "mustBeLessOrEqualTo": 5}, {"metric": "nullValues", "mustBeLessOrEqualTo": 2},
     "rule_tightened"),
    ({"metric": "nullValues", "mustBeLessOrEqualTo": 5}, {"metric": "nullValues"}, "rule_tightened"),
    ({"metric": "nullValues"}, {"metric": "nullValues", "mustBeLessThan": 3}, "rule_loosened"),
    ({"metric": "nullValues", "mustBeLessThan": 5}, {"metric": "nullValues", "mustBeLessThan": 5, "unit": "percent"},
     "rule_changed"),
])
def test_rules_compare_by_direction(before: dict[str, Any], after: dict[str, Any], kind: str) -> None:
    change = only(amount_rule(**before), amount_rule(**after))
    assert (change.kind, change.where, change.breaking) == (kind, "orders.amount", kind != "rule_loosened")
    assert change.before != change.after
    expected = "still passes" if kind == "rule_loosened" else "may now fail and block the batch"
    assert expected in change.why


def test_a_threshold_written_otherwise_is_no_change() -> None:
    old = contract(*BASE, quality=[{"metric": "rowCount", "mustBeBetween": [1, 10]}])
    new = contract(*BASE, quality=[{"metric": "rowCount", "mustBeGreaterOrEqualTo": 1, "mustBeLessOrEqualTo": 10}])
    assert diff_contracts(old, new).changes == ()


def test_object_rules_and_enums_compare_by_direction() -> None:
    change = only(contract(*BASE, quality=[{"metric": "rowCount", "mustBeGreaterThan": 0}]),
                  contract(*BASE, quality=[{"metric": "rowCount", "mustBeGreaterThan": 0, "mustBeLessThan": 100}]))
    assert (change.kind, change.where, change.after, change.breaking) == (
        "rule_tightened", "orders", "the row count must be greater than 0 and less than 100", True)
    fewer = only(contract(prop("c", quality=[{"rule": "enum", "mustBe": ["EUR", "USD"]}])),
                 contract(prop("c", quality=[{"rule": "enum", "mustBe": ["EUR"]}])))
    assert (fewer.kind, fewer.before, fewer.after, fewer.breaking) == (
        "rule_tightened", "must be one of 'EUR', 'USD'", "must be one of 'EUR'", True)
    longer = only(contract(prop("c", "varchar(3)")), contract(prop("c", "varchar(5)")))
    assert (longer.kind, longer.before, longer.after, longer.breaking) == (
        "rule_loosened", "must have at most 3 characters", "must have at most 5 characters", False)


def test_severity_raised_to_error_breaks_and_lowered_does_not() -> None:
    warning, error = amount_rule(mustBeGreaterThan=0, severity="warning"), amount_rule(mustBeGreaterThan=0)
    raised = only(warning, error)
    assert (raised.kind, raised.before, raised.after, raised.breaking) == ("severity_raised", "warning", "error", True)
    assert "now blocks the batch (before, it warned)" in raised.why
    lowered = only(error, warning)
    assert (lowered.kind, lowered.breaking) == ("severity_lowered", False)
    assert "whatever passed still passes" in lowered.why


def test_a_rule_tightened_and_lowered_reports_both() -> None:
    changes = diff_contracts(amount_rule(mustBeLessThan=20), amount_rule(mustBeLessThan=10, severity="warning")).changes
    assert [(c.kind, c.breaking) for c in changes] == [("rule_tightened", True), ("severity_lowered", False)]
    assert "may now fail and warn" in changes[0].why


def test_a_malformed_rule_added_breaks() -> None:
    change = only(contract(*BASE), contract(BASE[0], prop("amount", "double", quality=[{"mustBeBetween": [5, 1]}])))
    assert (change.kind, change.breaking) == ("rule_malformed", True)
    assert "pipelines refuse the contract" in change.why


def test_schema_objects_added_and_removed() -> None:
    one = contract(*BASE)
    two = contract(*BASE, objects=[{"name": "lines", "properties": [prop("sku")]}])
    added = only(one, two)
    assert (added.kind, added.where, added.breaking) == ("object_added", "lines", False)
    removed = only(two, one)
    assert (removed.kind, removed.where, removed.breaking) == ("object_removed", "lines", True)
    assert "lose it" in removed.why


@pytest.mark.parametrize(("before", "after", "kind", "breaking"), [
    ({"property": "frequency", "value": 1, "unit": "h"}, {"property": "frequency", "value": 30, "unit": "min"},
     "sla_tightened", True),
    ({"property": "frequency", "value": 1, "unit": "h"}, {"property": "frequency", "value": 1, "unit": "d"},
     "sla_loosened", False),
    ({"property": "retention", "value": 1, "unit": "y"}, {"property": "retention", "value": 3, "unit": "y"},
     "sla_tightened", True),
    ({"property": "retention", "value": 3, "unit": "y"}, {"property": "retention", "value": 1, "unit": "y"},
     "sla_loosened", False),
    ({"property": "generalAvailability", "value": "2025-01-01"},
     {"property": "generalAvailability", "value": "2025-06-01"}, "sla_changed", True),
])
def test_slas_compare_by_direction(before: dict[str, Any], after: dict[str, Any], kind: str, breaking: bool) -> None:
    change = only(contract(*BASE, slas=[before]), contract(*BASE, slas=[after]))
    assert (change.kind, change.where, change.breaking) == (kind, f"sla.{before['property']}", breaking)
    assert change.before != change.after and change.why


def test_an_sla_written_in_other_units_is_no_change() -> None:
    assert diff_contracts(contract(*BASE, slas=[{"property": "frequency", "value": 1, "unit": "h"}]),
                          contract(*BASE, slas=[{"property": "frequency", "value": 60, "unit": "min"}])).changes == ()


def test_a_latency_sla_is_compared_as_an_sla_not_as_its_rules() -> None:
    def latency(seconds: int, severity: str = "warning") -> OpenDataContractStandard:
        return contract(prop("ts", "timestamp"), slas=[{
            "property": "latency", "value": seconds, "unit": "s", "element": "orders.ts",
            "customProperties": [{"property": "dc43.severity", "value": severity}]}])

    tightened = only(latency(90), latency(60))
    assert (tightened.kind, tightened.where, tightened.before, tightened.after, tightened.breaking) == (
        "sla_tightened", "sla.latency(orders.ts)", "90 s", "60 s", True)
    raised = only(latency(90), latency(90, "error"))
    assert (raised.kind, raised.breaking) == ("severity_raised", True)
    added = only(contract(prop("ts", "timestamp")), latency(90))
    assert (added.kind, added.breaking) == ("sla_added", True)
    assert only(latency(90), contract(prop("ts", "timestamp"))).kind == "sla_removed"


def test_changes_come_breaking_first_then_by_place() -> None:
    old = contract(prop("id", "bigint"), prop("b", "int"), prop("a", "int"))
    new = contract(prop("id", "int"), prop("b", "bigint"), prop("c", "int"), slas=[
        {"property": "frequency", "value": 1, "unit": "h"}])
    diff = diff_contracts(old, new)
    assert [(c.kind, c.where) for c in diff.changes] == [
        ("column_removed", "orders.a"), ("type_narrowed", "orders.id"), ("sla_added", "sla.frequency"),
        ("type_widened", "orders.b"), ("column_added", "orders.c")]
    assert diff.breaking
    assert diff_contracts(old, new) == diff


def test_nested_columns_are_compared_by_path() -> None:
    def customer(*fields: dict[str, Any]) -> OpenDataContractStandard:
        return contract(prop("customer", "object", properties=list(fields)))

    change = only(customer(prop("email"), prop("age", "int")), customer(prop("email")))
    assert (change.kind, change.where) == ("column_removed", "orders.customer.age")
    gone = only(customer(prop("email")), contract(prop("other")).model_copy(update={"schema_": []}))
    assert gone.kind == "object_removed"
    whole = diff_contracts(customer(prop("email"), prop("age", "int")), contract(prop("id"))).changes
    assert [(c.kind, c.where) for c in whole] == [("column_removed", "orders.customer"),
                                                  ("column_added", "orders.id")]


def test_a_key_kept_longer_across_micro_batches_is_a_tighter_rule() -> None:
    def keyed(horizon: str) -> OpenDataContractStandard:
        return OpenDataContractStandard.model_validate({
            "apiVersion": "3.0.2", "kind": "DataContract", "id": "t.orders", "version": "1.0.0",
            "schema": [{"name": "orders", "properties": list(BASE),
                        "customProperties": [{"property": "dc43.keyHorizon", "value": horizon}]}]})

    change = only(keyed("10 batches"), keyed("100 batches"))
    assert (change.kind, change.where, change.breaking) == ("rule_tightened", "orders.id", True)
    assert change.after == "must not repeat a key an earlier micro-batch published (keys kept for 100 batch(es))"
    assert only(keyed("2 h"), keyed("1 h")).kind == "rule_loosened"
    assert only(keyed("2 h"), keyed("10 batches")).kind == "rule_changed"
