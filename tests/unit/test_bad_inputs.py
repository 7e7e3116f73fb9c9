"""Mistakes made without Spark: contracts, settings, plugins, stores, governance files, the CLI.

Each case asserts the dc43 error type and that the message names what was wrong.
(The helpers' mistakes are in ``tests/spark/test_bad_inputs.py``.)
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from dc43.contracts import FSContractStore, LocalContractServiceClient, contract_from_dict, load_contract
from dc43.errors import (
    ConfigurationError,
    ContractFormatError,
    ContractNotFoundError,
    Dc43Error,
    GovernanceDatabaseError,
    InvalidArgumentError,
    InvalidContractIdError,
    PluginError,
    UnknownComponentError,
    VersionSelectorError,
)
from dc43.governance import LocalGovernanceService
from dc43.plugins import get_plugin_manager, reset_plugin_manager, resolve_strategy
from dc43.settings import Settings


def document(quality: list[dict[str, Any]] | None = None, **prop: Any) -> dict[str, Any]:
    return {"apiVersion": "v3.0.2", "kind": "DataContract", "id": "sales.orders", "version": "1.0.0",
            "schema": [{"name": "orders", "properties": [
                {"name": "amount", "physicalType": "double", **prop, **({"quality": quality} if quality else {})}]}]}


@attrs.frozen
class Case:
    name: str
    act: Callable[[Path, pytest.MonkeyPatch], Any]
    error: type[Exception]
    names: tuple[str, ...]  # every one of these must appear in the message


def file(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def foreign_database(tmp: Path) -> Path:
    path = tmp / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    return path


def openlineage_env(tmp: Path, monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """OpenLineage configured by ``values`` only (no file but one the case writes in ``tmp``)."""
    import os

    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp)
    monkeypatch.setenv("HOME", str(tmp))
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def lineage_client() -> Any:
    """What a write asks the openlineage plugin for when it starts."""
    from dc43.runs import active_listeners

    return active_listeners(get_plugin_manager())


def describe(data: dict[str, Any]) -> Any:
    """What a pipeline asks of a contract before any query: its expectation plan."""
    from dc43.quality import LocalDataQualityService

    return LocalDataQualityService().describe_expectations(contract=contract_from_dict(data, "orders.yaml"))


def env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_plugin_manager()


CASES = [
    Case("misspelled operator on a property",
         lambda t, m: contract_from_dict(document([{"mustBeGreatherThan": 0}]), "orders.yaml"),
         ContractFormatError, ("mustBeGreatherThan", "did you mean 'mustBeGreaterThan'", "orders.yaml")),
    Case("misspelled operator on the object",
         lambda t, m: contract_from_dict({**document(), "schema": [{"name": "orders", "quality": [
             {"metric": "rowCount", "mustBeGraterThan": 1}]}]}, "orders.yaml"),
         ContractFormatError, ("mustBeGraterThan", "mustBeGreaterThan")),
    Case("operator in the wrong case",
         lambda t, m: contract_from_dict(document([{"mustbelessthan": 5}]), "orders.yaml"),
         ContractFormatError, ("mustbelessthan", "mustBeLessThan")),
    Case("contract file that is not UTF-8",
         lambda t, m: load_contract(file(t, "latin1.yaml", "id: caf\xe9\n".encode("latin-1"))),
         ContractFormatError, ("latin1.yaml", "UTF-8")),
    Case("contract path that is a folder", lambda t, m: load_contract(t),
         ContractNotFoundError, ("is a folder", "YAML or JSON file")),
    Case("contract file with broken YAML", lambda t, m: load_contract(file(t, "bad.yaml", "id: [1, 2\n")),
         ContractFormatError, ("bad.yaml", "YAML")),
    Case("contract without a version",
         lambda t, m: contract_from_dict({k: v for k, v in document().items() if k != "version"}, "x.json"),
         ContractFormatError, ("version", "x.json")),
    Case("contract with an unsupported apiVersion",
         lambda t, m: contract_from_dict({**document(), "apiVersion": "v2.2.0"}, "x.json"),
         ContractFormatError, ("apiVersion", "v2.2.0")),
    Case("stored contract that is not UTF-8",
         lambda t, m: (file(t, "store/sales.orders/1.0.0.json", b'{"id": "\xff"}'),
                       FSContractStore(t / "store").get("sales.orders", "1.0.0")),
         ContractFormatError, ("1.0.0.json", "UTF-8")),
    Case("unsafe contract id", lambda t, m: FSContractStore(t).get("../etc", "1.0.0"),
         InvalidContractIdError, ("../etc",)),
    Case("version selector that does not parse",
         lambda t, m: (FSContractStore(t).put(contract_from_dict(document(), "x")),
                       LocalContractServiceClient(FSContractStore(t)).resolve("sales.orders", ">>1.0")),
         VersionSelectorError, (">>1.0",)),
    Case("version selector that is a number",
         lambda t, m: (FSContractStore(t).put(contract_from_dict(document(), "x")),
                       LocalContractServiceClient(FSContractStore(t)).resolve("sales.orders", 1)),
         VersionSelectorError, ("1", "int")),
    Case("malformed dc43.toml", lambda t, m: Settings.load(config_file=file(t, "dc43.toml", "[dc43\nx = 1")),
         ConfigurationError, ("dc43.toml", "TOML")),
    Case("dc43 in dc43.toml is not a table", lambda t, m: Settings.load(config_file=file(t, "dc43.toml", "dc43 = 5")),
         ConfigurationError, ("dc43.toml", "[dc43]")),
    Case("a setting that is not a path",
         lambda t, m: Settings.load(config_file=file(t, "dc43.toml", "[dc43]\ngovernance_db = 5")),
         ConfigurationError, ("governance_db", "5", "dc43.toml")),
    Case("a settings file that does not exist", lambda t, m: Settings.load(config_file=t / "missing.toml"),
         ConfigurationError, ("missing.toml",)),
    Case("DC43_LOAD_PLUGINS naming no installed plugin",
         lambda t, m: (env(m, DC43_LOAD_PLUGINS="filesytem,memory"), get_plugin_manager()),
         PluginError, ("DC43_LOAD_PLUGINS", "'filesytem'", "did you mean 'filesystem'")),
    Case("governance database that is a folder", lambda t, m: LocalGovernanceService(t),
         GovernanceDatabaseError, ("is a folder", "governance.db")),
    Case("governance database that is not SQLite",
         lambda t, m: LocalGovernanceService(file(t, "notes.txt", "just some notes\n" * 100)),
         GovernanceDatabaseError, ("notes.txt", "not an SQLite database")),
    Case("another application's SQLite file", lambda t, m: LocalGovernanceService(foreign_database(t)),
         GovernanceDatabaseError, ("app.db", "invoices", "another application")),
    Case("unknown strategy name", lambda t, m: resolve_strategy("block-after-failure"),
         UnknownComponentError, ("block-after-failure", "did you mean 'block-after-failures'")),
    Case("strategy class instead of an instance",
         lambda t, m: resolve_strategy(__import__("dc43.strategies").strategies.BlockAfterFailuresStrategy),
         InvalidArgumentError, ("BlockAfterFailuresStrategy", "instance")),
    Case("strategy without decide()", lambda t, m: resolve_strategy(object()),
         InvalidArgumentError, ("decide(context)", "object")),
    Case("strategy option out of range", lambda t, m: resolve_strategy("block-after-failures", max_failures=0),
         InvalidArgumentError, ("max_failures", "0")),
    Case("reroute option out of range", lambda t, m: resolve_strategy("reroute", after_failures=-1),
         InvalidArgumentError, ("after_failures", "-1")),
    Case("unknown decision action",
         lambda t, m: __import__("dc43.strategies").strategies.InterventionDecision("blok", "x"),
         InvalidArgumentError, ("'blok'", "did you mean 'block'")),
    Case("dataset version template with an unknown field",
         lambda t, m: __import__("dc43.locators").locators.resolve_version("{batch}", batch_id=1),
         InvalidArgumentError, ("{batch}", "{batch_id}")),
    Case("malformed expectation from a data-quality service",
         lambda t, m: __import__("dc43.quality.plan").quality.plan.Expectation.coerce({"key": "k", "rule": "gt"}),
         InvalidArgumentError, ("'key': 'k'", "column")),
    Case("an unknown object-level rule",
         lambda t, m: describe({**document(), "schema": [{"name": "orders", "quality": [{"metric": "rowCnt",
                                                                                         "mustBe": 1}]}]}),
         ContractFormatError, ("rowCnt:orders", "did you mean 'rowCount'")),
    Case("a rule type that is not one", lambda t, m: describe(document([{"type": "sqll", "query": "SELECT 1"}])),
         ContractFormatError, ("'type: sqll'", "did you mean 'sql'")),
    Case("a misspelled logicalTypeOptions key", lambda t, m: describe(document(logicalTypeOptions={"minimun": 0})),
         ContractFormatError, ("minimun", "did you mean 'minimum'")),
    Case("a NaN SLA value", lambda t, m: describe({**document(), "slaProperties": [
        {"property": "latency", "value": "nan", "unit": "h", "element": "amount"}]}),
         ContractFormatError, ("slaProperties[latency].value", "'nan'", "above 0")),
    Case("a NaN volume factor", lambda t, m: describe({**document(), "schema": [{"name": "orders", "customProperties": [
        {"property": "dc43.volumeChangeFactor", "value": "NaN"}], "properties": [{"name": "a", "logicalType": "string"}]}]}),
         ContractFormatError, ("dc43.volumeChangeFactor", "'NaN'", "above 1")),
    Case("an inverted threshold", lambda t, m: describe(document([{"metric": "nullValues", "mustBeBetween": [5, 1]}])),
         ContractFormatError, ("null_values:amount", "low <= high")),

    Case("an outage policy wait that is not a number",
         lambda t, m: __import__("dc43.delivery").delivery.OutagePolicy.coerce({"wait": "soon"}, gate_enforced=True),
         InvalidArgumentError, ("wait", "'soon'", "number")),
    Case("an outage policy retries that is not whole",
         lambda t, m: __import__("dc43.delivery").delivery.OutagePolicy.coerce({"retries": 2.5}, gate_enforced=True),
         InvalidArgumentError, ("retries", "2.5", "whole number")),
    Case("a strategy given an argument it does not take",
         lambda t, m: resolve_strategy("block-after-failures", max_failure=3),
         InvalidArgumentError, ("max_failure", "did you mean 'max_failures'", "consecutive")),
    Case("a strategy count that is a string", lambda t, m: resolve_strategy("reroute", after_failures="2"),
         InvalidArgumentError, ("after_failures", "'2'", "whole number")),
    Case("a store given a document instead of a contract",
         lambda t, m: FSContractStore(t).put(document()), InvalidArgumentError, ("OpenDataContractStandard", "dict",
                                                                                 "contract_from_dict")),
    Case("a store given a path instead of a contract",
         lambda t, m: FSContractStore(t).put("orders.yaml"), InvalidArgumentError, ("str", "load_contract")),
    Case("a webhook URL without a host",
         lambda t, m: __import__("dc43.alerts").alerts.WebhookNotifier("https:///hooks/dc43"),
         InvalidArgumentError, ("'https:///hooks/dc43'", "with a host", "DC43_WEBHOOK_URL")),
    Case("an OpenLineage URL without a scheme",
         lambda t, m: (openlineage_env(t, m, OPENLINEAGE_URL="marquez:5000"), lineage_client()),
         ConfigurationError, ("OPENLINEAGE_URL", "'marquez:5000'", "http://host:port")),
    Case("an OpenLineage transport that is not one",
         lambda t, m: (openlineage_env(t, m, OPENLINEAGE__TRANSPORT__TYPE="htttp"), lineage_client()),
         ConfigurationError, ("OPENLINEAGE__TRANSPORT__TYPE", "'htttp'", "did you mean 'http'")),
    Case("an OpenLineage config file that is not YAML",
         lambda t, m: (openlineage_env(t, m), file(t, "openlineage.yml", "transport: [type: http\n"),
                       lineage_client()),
         ConfigurationError, ("openlineage.yml", "cannot be read")),
    Case("an OpenLineage config file with an unknown transport",
         lambda t, m: (openlineage_env(t, m), file(t, "openlineage.yml", "transport:\n  type: kafak\n"),
                       lineage_client()),
         ConfigurationError, ("transport.type", "'kafak'", "did you mean 'kafka'")),

    Case("a window that is no duration", lambda t, m: describe({**document(), "schema": [{"name": "orders", "quality": [
        {"metric": "rowCount", "mustBeLessThan": 9, "customProperties": [{"property": "dc43.window",
                                                                          "value": "NaN min"}]}],
        "properties": [{"name": "a", "logicalType": "string"}]}]}),
         ContractFormatError, ("dc43.window", "'NaN min'", "15 min")),

]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_mistake_gets_an_error_that_names_it(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(case.error) as raised:
        case.act(tmp_path, monkeypatch)
    assert isinstance(raised.value, Dc43Error)
    message = str(raised.value)
    missing = [name for name in case.names if name not in message]
    assert not missing, f"the message does not name {missing}: {message}"


@pytest.mark.parametrize("store", ["files", "memory"])
def test_a_key_a_store_drops_on_put_is_still_reported_to_whoever_gets_the_contract(store: str, tmp_path: Path) -> None:
    from dc43.contracts.keys import notes_of
    from dc43_memory.store import InMemoryContractStore

    kept = FSContractStore(tmp_path) if store == "files" else InMemoryContractStore()
    written = contract_from_dict(document(requried=True), "orders.yaml")
    kept.put(written)
    kept.put(written)  # the same content again: no conflict
    got = kept.get("sales.orders", "1.0.0")
    assert notes_of(got) == ("schema[0].properties[0]: unknown key 'requried' (did you mean 'required'?) was ignored",)
    kept.put(got)  # put back as got: still the same content, the note not doubled
    assert notes_of(kept.get("sales.orders", "1.0.0")) == notes_of(got)
    assert notes_of(LocalContractServiceClient(kept).resolve("sales.orders", "1.0.0")) == notes_of(got)


def test_another_applications_database_is_left_untouched(tmp_path: Path) -> None:
    path = foreign_database(tmp_path)
    with pytest.raises(GovernanceDatabaseError):
        LocalGovernanceService(path)
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"invoices"}


def test_an_unknown_property_key_is_kept_as_a_note_with_a_suggestion(caplog: pytest.LogCaptureFixture) -> None:
    from dc43.contracts.keys import notes_of

    contract = contract_from_dict(document(requried=True), "orders.yaml")
    (note,) = notes_of(contract)
    assert note == ("schema[0].properties[0]: unknown key 'requried' (did you mean 'required'?) was ignored")
    assert "requried" in caplog.text
    assert notes_of(contract_from_dict(document(required=True), "orders.yaml")) == ()


def test_a_dc43_property_dc43_does_not_read_there_is_a_note_naming_the_fix() -> None:
    from dc43.contracts.keys import notes_of

    contract = document(quality=[{"metric": "rowCount", "mustBeLessThan": 9, "customProperties": [
        {"property": "dc43.keyHorizon", "value": "1 h"}, {"property": "dc43.window", "value": "1 h"}]}],
        customProperties=[{"property": "dc43.nothing", "value": 1}, {"property": "owner", "value": "sales"}])
    contract["schema"][0]["customProperties"] = [{"property": "dc43.keyHorizn", "value": "2 batches"}]
    contract["slaProperties"] = [{"property": "latency", "value": 1, "unit": "h", "element": "amount",
                                  "customProperties": [{"property": "dc43.severty", "value": "error"}]}]
    assert notes_of(contract_from_dict(contract, "orders.yaml")) == (
        "schema[0].customProperties[0]: dc43 does not read 'dc43.keyHorizn' on a schema object "
        "(did you mean 'dc43.keyHorizon'?); it was ignored",
        "schema[0].properties[0].customProperties[0]: dc43 does not read 'dc43.nothing' on a property; it was ignored",
        "schema[0].properties[0].quality[0].customProperties[0]: dc43 does not read 'dc43.keyHorizon' on a quality "
        "rule; dc43 reads it on a schema object; it was ignored",
        "slaProperties[0].customProperties[0]: dc43 does not read 'dc43.severty' on an SLA property "
        "(did you mean 'dc43.severity'?); it was ignored",
    )


def test_the_table_of_dc43_properties_holds_every_one_dc43_reads() -> None:
    from dc43.contracts.keys import DC43_PROPERTIES
    from dc43.contracts.sla import SEVERITY
    from dc43.quality import across, volume

    assert {across.HORIZON, across.EVENT_TIME, volume.FACTOR, volume.HISTORY} <= set(DC43_PROPERTIES["schema object"])
    assert DC43_PROPERTIES["quality rule"] == (volume.WINDOW,)
    assert DC43_PROPERTIES["SLA property"] == (SEVERITY,)


def test_an_unreadable_higher_version_is_skipped_and_said(tmp_path: Path) -> None:
    from dc43.contracts.keys import notes_of

    store = FSContractStore(tmp_path)
    store.put(contract_from_dict(document(), "x"))
    file(tmp_path, "sales.orders/1.1.0.json", json.dumps({**document(), "version": "1.1.0", "kind": "Nope"}))
    contract = LocalContractServiceClient(store).resolve("sales.orders", "^1.0")
    assert contract.version == "1.0.0"
    assert any("version 1.1.0 of 'sales.orders' cannot be read and was skipped" in n for n in notes_of(contract))
    with pytest.raises(ContractFormatError, match="1.1.0"):  # asked for by name, it is an error
        LocalContractServiceClient(store).resolve("sales.orders", "==1.1.0")


@pytest.mark.parametrize("argv, problem", [
    (["demo", "--rows", "-1"], "--rows: must be 1 or more"),
    (["demo", "--batches", "0"], "--batches: must be 1 or more"),
    (["verdicts", "orders", "--limit", "0"], "--limit: must be 1 or more"),
])
def test_the_cli_refuses_numbers_out_of_range(argv: list[str], problem: str, capsys: pytest.CaptureFixture) -> None:
    from dc43.cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2 and problem in capsys.readouterr().err


@pytest.mark.parametrize("content", ["plain text\n", None])
def test_report_on_a_file_that_is_not_a_governance_database(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                            content: str | None) -> None:
    from dc43.cli import main

    path = file(tmp_path, "notes.txt", content) if content else foreign_database(tmp_path)
    assert main(["report", "--db", str(path), "--output", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dc43: error: ") and path.name in err and "Traceback" not in err
