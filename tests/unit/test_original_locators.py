"""The original dc43's locators and strategies, without Spark: what they resolve and plan."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from dc43.errors import ContractStatusError, DataProductError
from dc43.locators import LocateRequest
from dc43_integrations.spark.io import (
    ContractFirstDatasetLocator,
    ContractVersionLocator,
    DatasetResolution,
    DefaultReadStatusStrategy,
    StaticDatasetLocator,
    dataset_id_from_ref,
)
from dc43_integrations.spark.violation_strategy import NoOpWriteViolationStrategy, StrictWriteViolationStrategy
from open_data_contract_standard.model import OpenDataContractStandard


class Fixed:
    """A base locator that answers one resolution."""

    def __init__(self, resolution: DatasetResolution) -> None:
        self.resolution = resolution

    def for_read(self, **_: object) -> DatasetResolution:
        return self.resolution

    def for_write(self, **_: object) -> DatasetResolution:
        return self.resolution


def contract(server: dict) -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "legacy.orders", "version": "1.0.0",
        "schema": [{"name": "orders", "properties": [{"name": "id", "physicalType": "bigint"}]}],
        "servers": [{"server": "main", **server}]})


def versioned(root: Path, versions: list[str], name: str = "orders.json") -> None:
    for version in versions:
        (root / version).mkdir(parents=True, exist_ok=True)
        (root / version / name).write_text("[]")
        (root / version / ".dc43_version").write_text(version)


def delta(path: str = "/data/orders") -> Fixed:
    return Fixed(DatasetResolution(path=path, table=None, format="delta", dataset_id="orders", dataset_version=None))


@pytest.mark.parametrize(("version", "options"), [
    ("7", {"versionAsOf": "7"}), ("2024-05-31T10:00:00Z", {"timestampAsOf": "2024-05-31T10:00:00Z"}),
    ("latest", None)])
def test_a_version_locator_reads_delta_by_time_travel(version, options):
    found = ContractVersionLocator(dataset_version=version, base=delta()).for_read(
        contract=None, spark=None, format="delta", path="/data/orders", table=None)
    assert found.path == "/data/orders" and found.read_options == options


def test_a_version_locator_reads_every_version_up_to_the_one_asked_or_just_that_one(tmp_path):
    root = tmp_path / "orders"
    versioned(root, ["2024-01-01", "2024-01-02", "2024-01-03"])
    layout = {"dc43.core.versioning": {"includePriorVersions": True, "subfolder": "{version}",
                                       "filePattern": "orders.json", "readOptions": {"recursiveFileLookup": True}}}
    base = Fixed(DatasetResolution(path=str(root), table=None, format="json", dataset_id="orders",
                                   dataset_version=None, custom_properties=layout))
    found = ContractVersionLocator(dataset_version="2024-01-02", base=base).for_read(
        contract=None, spark=None, format="json", path=str(root), table=None)
    assert found.path == str(root) and found.read_options == {"recursiveFileLookup": "true"}
    assert sorted(found.load_paths) == [str(root / v / "orders.json") for v in ("2024-01-01", "2024-01-02")]
    layout["dc43.core.versioning"]["includePriorVersions"] = False
    snapshot = ContractVersionLocator(dataset_version="2024-01-02", base=base).for_read(
        contract=None, spark=None, format="json", path=str(root), table=None)
    assert snapshot.load_paths == [str(root / "2024-01-02" / "orders.json")]


def test_latest_follows_the_alias_a_pipeline_keeps(tmp_path):
    root = tmp_path / "orders"
    versioned(root, ["2023-12-31", "2024-01-01", "2025-09-28"])
    (root / "latest").symlink_to(root / "2024-01-01")
    layout = {"dc43.core.versioning": {"includePriorVersions": True, "filePattern": "orders.json"}}
    base = Fixed(DatasetResolution(path=str(root), table=None, format="json", dataset_id="orders",
                                   dataset_version=None, custom_properties=layout))
    found = ContractVersionLocator(dataset_version="latest", base=base).for_read(
        contract=None, spark=None, format="json", path=str(root), table=None)
    assert sorted(found.load_paths) == [str(root / v / "orders.json") for v in ("2023-12-31", "2024-01-01")]


def test_a_version_locator_writes_under_a_version_folder():
    found = ContractVersionLocator(dataset_version="1.2.0", subpath="part").for_write(
        contract=contract({"type": "filesystem", "path": "/data/orders.parquet", "format": "parquet"}), df=None,
        format=None, path=None, table=None)
    assert found.path == "/data/orders/1.2.0/part/orders.parquet" and found.dataset_version == "1.2.0"


def test_the_contract_first_locator_takes_the_server_over_the_hint_and_names_tables():
    found = ContractFirstDatasetLocator(clock=lambda: "T").for_write(
        contract=contract({"type": "filesystem", "path": "/data/orders", "format": "parquet"}), df=None,
        format=None, path="/elsewhere", table=None)
    assert (found.path, found.format, found.dataset_id, found.dataset_version) == \
        ("/data/orders", "parquet", "legacy.orders", "T")
    table = ContractFirstDatasetLocator().for_read(
        contract=contract({"type": "databricks", "catalog": "main", "schema": "sales", "format": "delta"}),
        spark=None, format=None, path=None, table=None)
    assert table.table == "main.sales" and table.path is None
    promoted = ContractFirstDatasetLocator().for_read(contract=None, spark=None, format="delta",
                                                      path="sales.orders", table=None)
    assert (promoted.table, promoted.path, promoted.dataset_id) == ("sales.orders", None, "table:sales.orders")
    assert dataset_id_from_ref(path=["/a", "/b"]) == "path:/a" and dataset_id_from_ref() == "unknown"


def test_an_original_locator_drives_dc43_helpers_through_locate():
    base = Fixed(DatasetResolution(path="/data/orders", table=None, format="json", dataset_id="orders",
                                   dataset_version="v1", read_options={"multiLine": "true"},
                                   load_paths=["/data/orders/a.json"]))
    target = StaticDatasetLocator(dataset_id="renamed", base=base).locate(
        LocateRequest(contract=None, operation="read", streaming=False, options={"mode": "FAILFAST"}))
    assert (target.dataset_id, target.dataset_version, target.format) == ("renamed", "v1", "json")
    assert target.paths == ("/data/orders/a.json",) and target.options == {"multiLine": "true", "mode": "FAILFAST"}


def test_status_policies_refuse_what_they_do_not_allow_and_log_when_not_enforcing(caplog):
    draft = SimpleNamespace(id="legacy.orders", version="1.0.0", status="Draft")
    with pytest.raises(ContractStatusError, match="status 'Draft' is not allowed for read"):
        DefaultReadStatusStrategy().validate_contract_status(contract=draft, enforce=True, operation="read")
    DefaultReadStatusStrategy().validate_contract_status(contract=draft, enforce=False, operation="read")
    assert "is not allowed for read" in caplog.text
    DefaultReadStatusStrategy(allowed_contract_statuses=("draft",)).validate_contract_status(
        contract=draft, enforce=True, operation="read")
    with pytest.raises(ContractStatusError, match="^custom legacy.orders$"):
        DefaultReadStatusStrategy(contract_status_failure_message="custom {contract_id}").validate_contract_status(
            contract=draft, enforce=True, operation="read")
    product = SimpleNamespace(id="dp.sales", version="0.2.0", status="retired")
    with pytest.raises(DataProductError, match="dp.sales@0.2.0 status 'retired'"):
        NoOpWriteViolationStrategy().validate_data_product_status(data_product=product, enforce=True,
                                                                  operation="write")
    strict = StrictWriteViolationStrategy(base=NoOpWriteViolationStrategy(allowed_contract_statuses=("draft",),
                                                                          contract_status_case_insensitive=True))
    strict.validate_contract_status(contract=draft, enforce=True, operation="write")  # the wrapped policy holds
