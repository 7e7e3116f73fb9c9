"""The contract outline: a contract rendered for a person, without Spark."""

from __future__ import annotations

from dc43.contracts.outline import contract_outline

from tests.unit.contract_builders import contract, prop


def test_the_outline_shows_the_contract_its_columns_rules_and_slas() -> None:
    outline = contract_outline(contract(
        prop("id", "bigint", primaryKey=True, description="The order's id"),
        prop("amount", "decimal(10,2)", quality=[{"metric": "nullValues", "mustBeLessOrEqualTo": 5}]),
        prop("value", "int", quality=[{"mustBeLessThan": 20, "severity": "warning"}]),
        prop("email", logicalType="string", classification="restricted",
             quality=[{"rule": "regex", "mustBe": "^[^@]+@[^@]+$"}]),
        prop("ts", "timestamp"),
        quality=[{"metric": "rowCount", "mustBeGreaterOrEqualTo": 1}],
        slas=[{"property": "frequency", "value": 1, "unit": "h"},
              {"property": "latency", "value": 90, "unit": "s", "element": "orders.ts"},
              {"property": "retention", "value": 3, "unit": "y"}]))
    assert (outline.id, outline.version, outline.status, outline.name) == ("t.orders", "1.0.0", "active", "Orders")
    assert outline.description == "Orders placed in the shop.\n\nDaily sales reports."
    [orders] = outline.objects
    columns = {c.name: c for c in orders.columns}
    assert [(c.name, c.type, c.required, c.primary_key) for c in orders.columns] == [
        ("id", "bigint", True, True), ("amount", "decimal(10,2)", False, False), ("value", "int", False, False),
        ("email", "string", False, False), ("ts", "timestamp", False, False)]
    assert columns["id"].description == "The order's id"
    assert (columns["email"].logical_type, columns["email"].physical_type) == ("string", "string")
    assert columns["email"].classification == "restricted"
    texts = [rule.text for rule in orders.rules]
    assert "amount: at most 5 rows may be null" in texts
    assert "value: must be less than 20 (warning)" in texts
    assert "email: must match the pattern ^[^@]+@[^@]+$" in texts
    assert "id: must not be null" in texts and "id: must be unique within a batch" in texts
    assert "the row count must be at least 1" in texts
    assert "ts: the largest lag of a micro-batch must be at most 90 s (warning, streams only)" in texts
    assert outline.slas == (
        "frequency: a batch with rows at least every 1 h; a stream silent for longer is stale",
        "latency: rows at most 90 s old when judged, by their time in orders.ts (warning)",
        "retention: data kept for 3 y")


def test_the_outline_words_thresholds_units_and_unchecked_rules() -> None:
    outline = contract_outline(contract(
        prop("a", "string", quality=[{"metric": "nullValues", "mustBe": 0, "unit": "percent"},
                                     {"metric": "missingValues", "mustBeLessThan": 2, "unit": "percent",
                                      "severity": "info"},
                                     {"type": "custom", "description": "checked by hand"}]),
        prop("b", "int", quality=[{"mustBeGreaterOrEqualTo": 0, "mustBeLessThan": 10}]),
        prop("c", "string", quality=[{"metric": "duplicateValues", "mustBeLessOrEqualTo": 1}]),
        quality=[{"metric": "rowCount", "mustBeBetween": [1, 100]}]))
    rules = {rule.key: rule for rule in outline.objects[0].rules}
    assert rules["null_values:a"].text == "a: no row may be null"
    assert rules["missing_values:a"].text == "a: fewer than 2% of rows may be missing (info)"
    assert rules["ge:b"].text == "b: must be at least 0"
    assert rules["lt:b"].text == "b: must be less than 10"
    assert rules["duplicate_values:c"].text == "c: at most 1 row may repeat another row's value"
    assert rules["row_count:orders"].text == "the row count must be between 1 and 100"
    unchecked = [rule for rule in outline.objects[0].rules if not rule.checked]
    assert [(r.column, r.description) for r in unchecked] == [("a", "checked by hand")]
    assert "not evaluated by dc43" in unchecked[0].reason and unchecked[0].text.startswith("a: rule 'custom'")


def test_the_outline_lists_nested_columns_by_path() -> None:
    outline = contract_outline(contract(
        prop("customer", "object", required=True, properties=[prop("email", "string", required=True)]),
        prop("tags", "array", items={"name": "tag", "physicalType": "string"})))
    assert [(c.name, c.type, c.required) for c in outline.objects[0].columns] == [
        ("customer", "object", True), ("customer.email", "string", True), ("tags", "array", False),
        ("tags[]", "string", False)]
