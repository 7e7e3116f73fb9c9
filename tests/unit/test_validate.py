"""`dc43 validate`: contract files checked as a pipeline would check them, without Spark jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from dc43.cli import main
from dc43.contracts.loading import contract_from_dict
from dc43.contracts.store import FSContractStore

ORDERS = """\
apiVersion: v3.0.2
kind: DataContract
id: sales.orders
version: 1.2.0
status: active
slaProperties:
  - {property: frequency, value: 5, unit: m}
  - {property: latency, value: 10, unit: m, element: ts}
schema:
  - name: orders
    customProperties:
      - {property: dc43.keyHorizon, value: 7 days}
    properties:
      - {name: id, physicalType: bigint, primaryKey: true}
      - name: amount
        physicalType: double
        quality:
          - mustBeGreaterOrEqualTo: 0
      - {name: ts, physicalType: timestamp}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_valid_contract_lists_its_objects_rules_and_frequency(tmp_path, capsys) -> None:
    path = write(tmp_path, "orders.yaml", ORDERS)
    assert main(["validate", str(path), "--rules"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}: sales.orders 1.2.0: valid"
    assert out[1] == "  orders: 3 columns, 6 rules (3 on streams only)"
    assert [line.split()[:2] for line in out[2:8]] == [
        ["error", "ge:amount"], ["error", "not_null:id"], ["error", "unique:id"], ["error", "unique_across:id"],
        ["warning", "latency:ts"], ["warning", "latency_p95:ts"]]
    assert out[8] == "  frequency: a batch with rows at least every 300 s on streams"
    assert out[-1] == "1 file: 1 valid, 0 invalid, 0 warnings"


def test_every_error_a_pipeline_would_refuse_is_named_at_once(tmp_path, capsys) -> None:
    text = (ORDERS.replace("7 days", "3 weeks").replace("unit: m}", "unit: fortnights}", 1)
            .replace("physicalType: double", "physicalType: dubble"))
    path = write(tmp_path, "orders.yaml", text)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("  error: ")]
    assert len(errors) == 3, out
    assert "physicalType 'dubble'" in errors[0]
    assert "customProperties[dc43.keyHorizon]': '3 weeks' is not a horizon" in errors[1]
    assert "slaProperties[frequency].unit': 'fortnights' is not a unit dc43 knows; use one of s, m, h, d" in errors[2]
    assert f"{path}: sales.orders 1.2.0: invalid" in out


def test_a_file_that_does_not_load_names_the_line(tmp_path, capsys) -> None:
    path = write(tmp_path, "broken.yaml", "kind: [\n")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}: invalid"
    assert "invalid YAML at line 2, column 1" in out[1]


def test_a_misspelled_dc43_property_warns_and_strict_fails(tmp_path, capsys) -> None:
    path = write(tmp_path, "orders.yaml", ORDERS.replace("dc43.keyHorizon", "dc43.keyHorizn"))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr()
    assert ("  warning: schema[0].customProperties[0]: dc43 does not read 'dc43.keyHorizn' on a schema object "
            "(did you mean 'dc43.keyHorizon'?); it was ignored") in out.out.splitlines()
    assert out.err == ""  # said once, in the output, not logged as well
    assert main(["validate", str(path), "--strict"]) == 1


def test_folders_are_searched_hidden_ones_skipped_and_json_says_everything(tmp_path, capsys) -> None:
    write(tmp_path, "b/orders.yaml", ORDERS)
    write(tmp_path, "a/draft.json", json.dumps({"apiVersion": "v3.0.2", "kind": "DataContract", "id": "x",
                                                "version": "0.1.0", "status": "draft", "schema": [
                                                    {"name": "t", "properties": [{"name": "c", "logicalType": "string"}]}]}))
    write(tmp_path, ".git/config.json", "{not a contract")
    write(tmp_path, "README.md", "not a contract either")
    assert main(["validate", str(tmp_path), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [Path(f["source"]).relative_to(tmp_path).as_posix() for f in found] == ["a/draft.json", "b/orders.yaml"]
    draft, orders = found
    assert draft["valid"] and draft["warnings"] == [
        "status is 'draft': pipelines refuse it unless they pass allow_inactive"]
    assert orders["frequency_s"] == 300.0 and orders["objects"][0]["name"] == "orders"
    across = next(r for r in orders["objects"][0]["rules"] if r["key"] == "unique_across:id")
    assert across == {"key": "unique_across:id", "rule": "unique_across", "column": "id", "severity": "error",
                      "description": "unique across micro-batches", "streams_only": True}


def test_without_paths_it_checks_the_contract_store_of_the_settings(tmp_path, capsys, monkeypatch) -> None:
    store = FSContractStore(tmp_path / "store")
    store.put(contract_from_dict(yaml.safe_load(ORDERS), "orders.yaml"))
    monkeypatch.setenv("DC43_CONTRACTS_DIR", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("sales.orders/1.2.0.json: sales.orders 1.2.0: valid")
    moved = tmp_path / "store" / "sales.orders" / "1.3.0.json"  # copied by hand without changing its version
    moved.write_text((tmp_path / "store" / "sales.orders" / "1.2.0.json").read_text())
    write(tmp_path, "store/notes.yaml", ORDERS)
    assert main(["validate"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "  error: the store reads it as sales.orders@1.3.0 but it holds sales.orders@1.2.0; move the document " \
           "to match its id and version, or publish it again" in out
    assert f"  warning: the contract store at {tmp_path / 'store'} does not read this file: it reads " \
           "<id>/<version>.json" in out
    monkeypatch.setenv("DC43_CONTRACTS_DIR", str(tmp_path / "none"))
    assert main(["validate"]) == 2
    assert f"no contracts folder at {tmp_path / 'none'}" in capsys.readouterr().err


@pytest.mark.parametrize("paths, problem", [
    (["missing.yaml"], "no file or folder at missing.yaml"),
    (["empty"], "no contract files (*.yaml, *.yml, *.json) in folder empty"),
])
def test_a_path_with_nothing_to_check_exits_2_naming_it(paths, problem, tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["validate", *paths]) == 2
    assert problem in capsys.readouterr().err
    assert main(["validate", *paths, "--json"]) == 2
    answer = json.loads(capsys.readouterr().out)
    assert problem in answer["error"] and answer["type"] == "Dc43Error"


WIDE = """\
apiVersion: v3.0.2
kind: DataContract
id: crm.wide
version: 1.0.0
status: active
slaProperties:
  - {property: latency, value: 1, unit: h, element: missing_column}
schema:
  - name: people
    properties:
      - {name: a, physicalType: int4range}
      - {name: b, physicalType: int4}
      - {name: c, physicalType: "geometry(point)"}
  - name: places
    properties:
      - {name: d, physicalType: tsrange}
      - {name: e, physicalType: ltree, logicalType: string}
    quality:
      - {type: sql, query: "SELECT COUNT(*) FROM places_archive WHERE d IS NULL", mustBe: 0}
      - {type: sql, query: "SELECT COUNT(*) FROM places WHERE d IS NULL", mustBe: 0}
"""


def test_every_error_of_a_file_is_listed_once_naming_its_schema_object_and_property(tmp_path, capsys) -> None:
    path = write(tmp_path, "wide.yaml", WIDE)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    errors = [line.removeprefix("  error: ") for line in out.splitlines() if line.startswith("  error: ")]
    assert [e.split(":")[0] for e in errors if e.startswith("schema object")] == [
        "schema object 'people', property 'a'", "schema object 'people', property 'c'",
        "schema object 'places', property 'd'"]
    latency = [e for e in errors if "missing_column" in e]
    assert len(latency) == 1 and "is not a property of schema object 'people'" in latency[0]
    tables = [e for e in errors if "places_archive" in e]
    assert len(tables) == 1 and "name it 'places' or ${object}" in tables[0]
    assert len(errors) == 5, out
    warnings = [line for line in out.splitlines() if line.startswith("  warning: ")]
    assert len(warnings) == 1 and "property 'e': cannot read physicalType 'ltree'" in warnings[0]
    assert "checked as its logicalType 'string' (string)" in warnings[0]


def test_contracts_in_the_shape_of_each_engines_exports_are_valid(capsys) -> None:
    folder = Path(__file__).parents[1] / "contracts" / "engines"
    assert main(["validate", str(folder), "--json"]) == 0
    checks = {Path(c["source"]).stem: c for c in json.loads(capsys.readouterr().out)}
    assert len(checks) == 7 and all(c["valid"] for c in checks.values())
    rules = {c["contract_id"]: {r["key"]: r["description"] for o in c["objects"] for r in o["rules"]}
             for c in checks.values()}
    assert rules["shop.products"]["max_length:sku"] == "physicalType varchar(4)"
    assert rules["shop.products"]["between:id"] == "physicalType int(10) unsigned"
    assert rules["shop.products"]["enum:state"] == "physicalType enum('draft','live')"
    assert rules["hr.employees"]["max_length:LAST_NAME"] == "physicalType VARCHAR2(5 CHAR)"
    notes = {stem: [w for w in c["warnings"] if "cannot read physicalType" in w] for stem, c in checks.items()}
    assert {stem: len(found) for stem, found in notes.items() if found} == {
        "avro_payments": 1, "bigquery_events": 1, "postgresql_customers": 1, "sqlserver_invoices": 1}


def test_contracts_in_the_shape_of_the_standards_examples_are_valid_without_a_warning(capsys) -> None:
    folder = Path(__file__).parents[1] / "contracts" / "odcs"
    assert main(["validate", str(folder), "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    assert [(c["valid"], c["warnings"]) for c in checks] == [(True, [])] * 2  # a 3.0 team list is read as such
