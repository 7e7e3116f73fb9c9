"""Batch reads and writes through the same contract machinery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dc43.contracts import LocalContractServiceClient
from dc43.errors import ContractStatusError, ContractViolationError
from dc43.governance import LocalGovernanceService
from dc43.quality import LocalDataQualityService
from dc43_integrations.spark.io import read_with_contract, write_with_contract
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard

pytestmark = [pytest.mark.spark, pytest.mark.connect]


def contract(version: str = "1.0.0", status: str = "active", **extra: Any) -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.1.0", "kind": "DataContract", "id": "shop.items", "version": version,
        "status": status,
        "schema": [{"name": "items", **extra, "properties": [
            {"name": "sku", "physicalType": "string", "required": True, "unique": True},
            {"name": "qty", "physicalType": "int", "quality": [{"mustBeGreaterThan": 0}]},
            {"name": "note", "physicalType": "string"},
        ]}],
    })


@pytest.fixture
def services() -> dict[str, Any]:
    store = InMemoryContractStore()
    store.put(contract())
    store.put(contract("2.0.0-rc.1"))
    store.put(contract("1.1.0", status="draft"))
    return {"contract_service": LocalContractServiceClient(store),
            "data_quality_service": LocalDataQualityService(),
            "governance_service": LocalGovernanceService()}


def test_clean_write_is_aligned_to_the_contract_and_readable(spark, tmp_path: Path, services):
    df = spark.createDataFrame([("b", 2, 1), ("a", 1, 2)], "sku string, qty bigint, extra int")
    path = str(tmp_path / "items")
    result = write_with_contract(df=df, contract_id="shop.items", path=path, format="parquet",
                                 expected_contract_version="^1.0", **services)
    assert result.ok and result.metrics["row_count"] == 2
    assert any("extra" in w for w in result.warnings)  # never dropped silently
    written = spark.read.parquet(path)
    assert written.columns == ["sku", "qty", "note"]  # contract order, typed null for note
    assert dict(written.dtypes)["qty"] == "int"
    back, read = read_with_contract(spark=spark, contract_id="shop.items", path=path,
                                    format="parquet", **services)
    assert read.ok and back.count() == 2
    assert read.details["contract_version"] == "1.0.0"  # latest skips the pre-release and the draft


def test_enforced_write_of_bad_data_writes_nothing(spark, tmp_path: Path, services):
    df = spark.createDataFrame([("a", 0), ("a", 5), (None, 1)], "sku string, qty int")
    path = tmp_path / "items"
    with pytest.raises(ContractViolationError, match="nothing was written") as caught:
        write_with_contract(df=df, contract_id="shop.items", path=str(path), format="parquet",
                            **services)
    assert not path.exists()
    metrics = caught.value.validation.metrics
    assert metrics["violations.not_null:sku"] == 1
    assert metrics["violations.unique:sku"] == 1
    assert metrics["violations.gt:qty"] == 1


def test_values_lost_by_a_cast_are_violations(spark, tmp_path: Path, services):
    df = spark.createDataFrame([("a", "7"), ("b", "seven"), ("c", None)], "sku string, qty string")
    result = write_with_contract(df=df, contract_id="shop.items", path=str(tmp_path / "o"),
                                 format="parquet", enforce=False, **services)
    assert result.metrics["violations.cast:qty"] == 1
    assert result.status == "block"
    assert any("cast:qty" in e for e in result.errors)


def test_a_contract_can_forbid_extra_columns_on_write(spark, tmp_path: Path, services):
    strict = contract("1.2.0", customProperties=[{"property": "dc43.allowExtraColumns", "value": False}])
    services["contract_service"].store.put(strict)
    df = spark.createDataFrame([("a", 1, "x")], "sku string, qty int, surprise string")
    with pytest.raises(ContractViolationError, match="surprise"):
        write_with_contract(df=df, contract_id="shop.items", expected_contract_version="==1.2.0",
                            path=str(tmp_path / "o"), format="parquet", **services)


def test_inactive_contracts_need_an_explicit_opt_in(spark, tmp_path: Path, services):
    df = spark.createDataFrame([("a", 1)], "sku string, qty int")
    with pytest.raises(ContractStatusError, match="draft"):
        write_with_contract(df=df, contract_id="shop.items", expected_contract_version="1.1.0",
                            path=str(tmp_path / "o"), format="parquet", **services)
    result = write_with_contract(df=df, contract_id="shop.items", expected_contract_version="1.1.0",
                                 path=str(tmp_path / "o"), format="parquet", allow_inactive=True,
                                 **services)
    assert result.details["contract_version"] == "1.1.0"


def test_batch_writes_are_recorded_in_governance(spark, tmp_path: Path, services):
    df = spark.createDataFrame([("a", 1, "n")], "sku string, qty int, note string")
    write_with_contract(df=df, contract_id="shop.items", path=str(tmp_path / "o"),
                        format="parquet", pipeline_context={"job": "nightly"}, **services)
    governance = services["governance_service"]
    (observation,) = governance.observations(str(tmp_path / "o"))
    assert observation.operation == "write" and observation.pipeline_context == {"job": "nightly"}
    assert governance.latest_verdict(str(tmp_path / "o")).status == "ok"


def test_split_sends_broken_rows_to_the_rejection_sink_with_their_rules(spark, tmp_path: Path, services):
    df = spark.createDataFrame([("a", 1, None), (None, 2, None), ("c", 0, None), ("d", 4, "x")],
                               "sku string, qty int, note string")
    result = write_with_contract(
        df=df, contract_id="shop.items", path=str(tmp_path / "items"), format="parquet",
        violation_strategy="split", rejection_sink={"format": "parquet", "path": str(tmp_path / "rejected")},
        **services)  # enforce=True: every failing rule is routed row by row, so nothing blocks
    assert result.status == "block" and result.details["rejection_sink"]["format"] == "parquet"
    kept = sorted(r.sku for r in spark.read.parquet(str(tmp_path / "items")).collect())
    rejected = {r.qty: list(r._dc43_rejected_rules) for r in spark.read.parquet(str(tmp_path / "rejected")).collect()}
    assert kept == ["a", "d"]
    assert rejected == {2: ["not_null:sku"], 0: ["gt:qty"]}


def test_split_still_blocks_failures_no_row_carries(spark, tmp_path: Path, services):
    df = spark.createDataFrame([("a", 1), ("a", 2)], "sku string, qty int")  # a duplicate sku
    with pytest.raises(ContractViolationError, match="unique:sku"):
        write_with_contract(df=df, contract_id="shop.items", path=str(tmp_path / "items"), format="parquet",
                            violation_strategy="split",
                            rejection_sink={"format": "parquet", "path": str(tmp_path / "rejected")},
                            **services)
    assert not (tmp_path / "items").exists() and not (tmp_path / "rejected").exists()
