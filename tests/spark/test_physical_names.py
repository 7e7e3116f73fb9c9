"""``physicalName``: the data carries physical names, the contract's rules and verdicts logical ones.

The contract names its columns ``order_id``, ``customer``, ``amount``, ``placed_at``; the table
(and so every DataFrame, file and sink here) calls them ``ORD_ID``, ``CUST_NM``, ``AMT``,
``PLACED_TS``.  Counts are by hand.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dc43.contracts import LocalContractServiceClient
from dc43.errors import SchemaMappingError
from dc43.quality import LocalDataQualityService
from dc43_integrations.spark.io import (
    read_stream_with_contract,
    read_with_contract,
    write_stream_with_contract,
    write_with_contract,
)
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard

from tests.spark.orders import drained, governance_file

pytestmark = pytest.mark.spark

DATA = "ORD_ID bigint, CUST_NM string, AMT double, PLACED_TS timestamp"
WHEN = datetime(2026, 12, 1, 10, 0)


def contract(*, sql: bool = True) -> OpenDataContractStandard:
    quality = [{"type": "sql", "query": "SELECT COUNT(*) FROM tbl_orders WHERE AMT > 1000", "mustBe": 0}]
    return OpenDataContractStandard.model_validate({
        "apiVersion": "v3.0.2", "kind": "DataContract", "id": "sales.orders_p", "version": "1.0.0",
        "status": "active",
        "slaProperties": [{"property": "latency", "value": 3650, "unit": "d", "element": "PLACED_TS"}],
        "schema": [{"name": "orders", "physicalName": "tbl_orders", "quality": quality if sql else [],
                    "properties": [
            {"name": "order_id", "physicalName": "ORD_ID", "physicalType": "bigint", "primaryKey": True},
            {"name": "customer", "physicalName": "CUST_NM", "physicalType": "varchar(5)", "required": True},
            {"name": "amount", "physicalName": "AMT", "physicalType": "double",
             "quality": [{"mustBeGreaterOrEqualTo": 0}]},
            {"name": "placed_at", "physicalName": "PLACED_TS", "physicalType": "timestamp"},
        ]}],
    })


def services(*, sql: bool = True) -> dict[str, Any]:
    store = InMemoryContractStore()
    store.put(contract(sql=sql))
    return {"contract_service": LocalContractServiceClient(store), "data_quality_service": LocalDataQualityService(),
            "governance_service": governance_file()}  # on Spark Connect, the server's Python records in it too


BATCHES = [
    [(1, "ann", 10.0, WHEN), (2, "bob", -1.0, WHEN), (3, None, 5.0, WHEN)],  # amount < 0; no customer
    [(1, "carla", 2.0, WHEN), (4, "danielle", 3.0, WHEN), (5, "eve", 2000.0, WHEN)],  # repeat; 8 letters; > 1000
]


def violations(metrics: dict[str, Any]) -> dict[str, int]:
    return {key: value for key, value in metrics.items() if key.startswith("violations.") and value}


def test_a_batch_write_of_physical_names_keeps_every_value_and_counts_every_rule(spark, tmp_path: Path) -> None:
    given = services()
    df = spark.createDataFrame(BATCHES[0] + BATCHES[1][1:], DATA)
    result = write_with_contract(df=df, contract_id="sales.orders_p", path=str(tmp_path / "out"), format="parquet",
                                 enforce=False, **given)
    # the row without a customer breaks its length rule too: a required column's null fails every check
    assert violations(result.metrics) == {"violations.ge:amount": 1, "violations.not_null:customer": 1,
                                          "violations.max_length:customer": 2}
    assert result.metrics["metrics.sql:orders"] == 1
    assert not [w for w in result.warnings if "not in the contract" in w or "missing" in w]
    written = spark.read.parquet(str(tmp_path / "out"))
    assert written.columns == ["ORD_ID", "CUST_NM", "AMT", "PLACED_TS"]
    assert sorted(tuple(r) for r in written.select("ORD_ID", "CUST_NM").collect()) == [
        (1, "ann"), (2, "bob"), (3, None), (4, "danielle"), (5, "eve")]
    rules = {r["key"]: (r["column"], r["data_column"]) for r in result.details["rules"]}
    assert rules["ge:amount"] == ("amount", "AMT") and rules["not_null:customer"] == ("customer", "CUST_NM")
    assert result.details["physical_names"] == {"order_id": "ORD_ID", "customer": "CUST_NM", "amount": "AMT",
                                                "placed_at": "PLACED_TS"}

    back, read = read_with_contract(spark=spark, contract_id="sales.orders_p", path=str(tmp_path / "out"),
                                    format="parquet", enforce=False, **given)
    assert back.columns == ["ORD_ID", "CUST_NM", "AMT", "PLACED_TS"] and back.count() == 5
    assert violations(read.metrics) == violations(result.metrics)


def test_data_carrying_the_logical_names_is_written_with_the_physical_ones(spark, tmp_path: Path) -> None:
    df = spark.createDataFrame([(1, "ann", 10.0, WHEN)], "order_id bigint, customer string, amount double, "
                                                         "placed_at timestamp")
    result = write_with_contract(df=df, contract_id="sales.orders_p", path=str(tmp_path / "out"), format="parquet",
                                 **services())
    assert result.ok, result.errors
    assert spark.read.parquet(str(tmp_path / "out")).columns == ["ORD_ID", "CUST_NM", "AMT", "PLACED_TS"]


def test_a_missing_physical_column_is_named_with_its_property(spark, tmp_path: Path) -> None:
    df = spark.createDataFrame([(1, 10.0)], "ORD_ID bigint, AMT double")
    result = write_with_contract(df=df, contract_id="sales.orders_p", path=str(tmp_path / "out"), format="parquet",
                                 enforce=False, **services())
    assert any("column 'CUST_NM' (property 'customer') is required by the contract but missing" in e
               for e in result.errors)


def stream_write(spark, source: str, tmp_path: Path, given: dict[str, Any], **kwargs: Any) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders_p", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **given)
    assert df.columns == ["ORD_ID", "CUST_NM", "AMT", "PLACED_TS"]
    return drained(write_stream_with_contract(
        df=df, contract_id="sales.orders_p", format="parquet", path=str(tmp_path / "main"),
        options={"checkpointLocation": str(tmp_path / "cp")}, **given, **kwargs))


@pytest.mark.connect
@pytest.mark.cluster
def test_a_stream_of_physical_names_counts_every_rule_across_batches_and_its_latency(
        spark, parquet_batches, tmp_path: Path) -> None:
    source = parquet_batches(DATA, BATCHES)
    result = stream_write(spark, source, tmp_path, services(), enforce=False)
    batches = [e for e in result.details["streaming_batches"] if "metrics" in e]
    assert [violations(e["metrics"]) for e in batches] == [
        {"violations.ge:amount": 1, "violations.not_null:customer": 1, "violations.max_length:customer": 1},
        {"violations.unique_across:order_id": 1, "violations.max_length:customer": 1}]
    assert [e["metrics"]["metrics.sql:orders"] for e in batches] == [0, 1]
    assert all(e["metrics"]["metrics.latency:placed_at"] > 0 for e in batches)  # measured from PLACED_TS
    written = spark.read.parquet(str(tmp_path / "main"))
    assert sorted(r.ORD_ID for r in written.collect()) == [1, 1, 2, 3, 4, 5]  # enforce=False: every value kept


@pytest.mark.connect
@pytest.mark.cluster
def test_the_gate_routes_physical_named_rows_and_keeps_their_keys(spark, parquet_batches, tmp_path: Path) -> None:
    source = parquet_batches(DATA, BATCHES)
    result = stream_write(spark, source, tmp_path, services(sql=False), observation_writer="inline",
                          rejection_sink={"format": "parquet", "path": str(tmp_path / "rejected")})
    main = spark.read.parquet(str(tmp_path / "main"))
    assert [c for c in main.columns if not c.startswith("_dc43")] == ["ORD_ID", "CUST_NM", "AMT", "PLACED_TS"]
    assert sorted(r.ORD_ID for r in main.collect()) == [1, 5]
    rejected = sorted((r.ORD_ID, sorted(r._dc43_rejected_rules))
                      for r in spark.read.parquet(str(tmp_path / "rejected")).collect())
    assert rejected == [(1, ["unique_across:order_id"]), (2, ["ge:amount"]),
                        (3, ["max_length:customer", "not_null:customer"]), (4, ["max_length:customer"])]
    assert [e["status"] for e in result.details["streaming_batches"]] == ["block", "block"]


def test_two_properties_naming_one_column_are_refused(spark, tmp_path: Path) -> None:
    clash = contract()
    clash.schema_[0].properties[1].physicalName = "ORD_ID"
    store = InMemoryContractStore()
    store.put(clash)
    df = spark.createDataFrame([(1, 10.0)], "ORD_ID bigint, AMT double")
    with pytest.raises(SchemaMappingError, match="properties 'order_id' and 'customer' both name the data column "
                                                 "'ORD_ID'"):
        write_with_contract(df=df, contract_id="sales.orders_p", path=str(tmp_path / "out"), format="parquet",
                            **{**services(), "contract_service": LocalContractServiceClient(store)})


@pytest.mark.connect
@pytest.mark.cluster
def test_a_delta_table_created_from_the_contract_has_the_physical_columns(spark, tmp_path: Path) -> None:
    location = str(tmp_path / "orders")
    df = spark.createDataFrame([(1, "ann", 10.0, WHEN)], DATA)
    result = write_with_contract(df=df, contract_id="sales.orders_p", path=location, format="delta", **services())
    assert result.ok, result.errors
    columns = [r.col_name for r in spark.sql(f"DESCRIBE TABLE delta.`{location}`").collect()][:4]
    assert columns == ["ORD_ID", "CUST_NM", "AMT", "PLACED_TS"]
    assert spark.read.format("delta").load(location).collect()[0].CUST_NM == "ann"


def test_the_lineage_schema_facet_names_the_physical_columns_and_their_properties() -> None:
    from dc43_openlineage.events import metrics_facet, schema_facet

    fields = schema_facet(contract()).fields
    assert [(f.name, f.description) for f in fields] == [
        ("ORD_ID", "property 'order_id'"), ("CUST_NM", "property 'customer'"), ("AMT", "property 'amount'"),
        ("PLACED_TS", "property 'placed_at'")]
    verdict = {"metrics": {"row_count": 3, "violations.not_null:customer": 1},
               "rules": [{"rule": "not_null", "column": "customer", "data_column": "CUST_NM",
                          "metric": "violations.not_null:customer"}]}
    assert metrics_facet(verdict).columnMetrics["CUST_NM"].nullCount == 1
