"""Contracts in the shape of each engine's exports are enforced, their declared limits counted exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dc43.contracts import LocalContractServiceClient, load_contract
from dc43.governance import LocalGovernanceService
from dc43.quality import LocalDataQualityService
from dc43.spark.types import contract_struct
from dc43_integrations.spark.io import write_with_contract
from dc43_memory.store import InMemoryContractStore

pytestmark = pytest.mark.spark

ENGINES = Path(__file__).parents[1] / "contracts" / "engines"
WHEN = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone.utc)


def services(path: Path) -> tuple[Any, dict[str, Any]]:
    contract = load_contract(path)
    store = InMemoryContractStore()
    store.put(contract)
    return contract, {"contract_service": LocalContractServiceClient(store),
                      "data_quality_service": LocalDataQualityService(),
                      "governance_service": LocalGovernanceService()}


@pytest.mark.parametrize("path", sorted(ENGINES.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_engines_contract_is_enforced_on_data_of_its_spark_schema(spark, tmp_path: Path, path: Path) -> None:
    contract, given = services(path)
    schema = contract_struct(contract)
    result = write_with_contract(df=spark.createDataFrame([], schema), contract_id=contract.id,
                                 path=str(tmp_path / "out"), format="parquet", **given)
    assert result.ok, result.errors
    assert not any("cannot be cast" in w or "will be cast" in w for w in result.warnings)
    assert spark.read.parquet(str(tmp_path / "out")).schema.simpleString() == schema.simpleString()


@pytest.mark.connect
@pytest.mark.cluster
def test_mysql_lengths_ranges_values_and_scale_are_counted_row_by_row(spark, tmp_path: Path) -> None:
    contract, given = services(ENGINES / "mysql_products.yaml")
    rows = [  # id, sku, stock, weight, state, price (a double: cast to decimal(6,2)), launched, year, body
        (1, "AB12", 10, 1.5, "live", 10.5, WHEN, 2020, "ok"),  # clean
        (-1, "ABCDE", 70000, 12.5, "gone", 1.234, WHEN, 2021, "x"),  # id < 0, 5 letters, stock, weight, state, scale
        (4294967296, "A", -1, -9.99, "draft", 12345.6, WHEN, 2022, None),  # id > 2^32-1, stock < 0, price too big
        (7, "日本語", 65535, None, None, None, None, None, None),  # 3 characters fit varchar(4); edges pass
    ]
    df = spark.createDataFrame(rows, "id bigint, sku string, stock int, weight float, state string, price double, "
                                     "launched timestamp, year smallint, body string")
    result = write_with_contract(df=df, contract_id=contract.id, path=str(tmp_path / "out"), format="parquet",
                                 enforce=False, **given)
    counted = {key: value for key, value in result.metrics.items() if key.startswith("violations.") and value}
    assert counted == {"violations.between:id": 2, "violations.max_length:sku": 1, "violations.between:stock": 2,
                       "violations.between:weight": 1, "violations.enum:state": 1, "violations.cast:price": 2}
    assert result.status == "block"
    written = {r.id: r for r in spark.read.parquet(str(tmp_path / "out")).collect()}
    assert written[1].price == Decimal("10.50") and written[-1].price == Decimal("1.23")  # every row kept


def test_postgresql_and_oracle_lengths_and_numeric_scales_are_counted(spark, tmp_path: Path) -> None:
    contract, given = services(ENGINES / "postgresql_customers.yaml")
    df = spark.createDataFrame(
        [(1, "FR", "Ann Lee", Decimal("10.5000")), (2, "FRA", "Bartholomew Smith", Decimal("1.2345")),
         (3, "DE", "Bob", Decimal("1234567.8000")), (4, "NL", None, None)],
        "customer_id bigint, country string, full_name string, balance decimal(12,4)")
    result = write_with_contract(df=df, contract_id=contract.id, path=str(tmp_path / "pg"), format="parquet",
                                 enforce=False, **given)
    counted = {key: value for key, value in result.metrics.items() if key.startswith("violations.") and value}
    # bpchar(2): FRA; character varying(12): 17 letters; numeric(8,2): 4 decimals and 6 integer digits
    assert counted == {"violations.max_length:country": 1, "violations.max_length:full_name": 1,
                       "violations.cast:balance": 2}

    contract, given = services(ENGINES / "oracle_employees.yaml")
    df = spark.createDataFrame([(Decimal(1), "Smith", b"\x01" * 16), (Decimal(2), "Smithers", b"\x01" * 17)],
                               "EMPLOYEE_ID decimal(9,0), LAST_NAME string, BADGE binary")
    result = write_with_contract(df=df, contract_id=contract.id, path=str(tmp_path / "ora"), format="parquet",
                                 enforce=False, **given)
    counted = {key: value for key, value in result.metrics.items() if key.startswith("violations.") and value}
    assert counted == {"violations.max_length:LAST_NAME": 1, "violations.max_length:BADGE": 1}


ODCS = Path(__file__).parents[1] / "contracts" / "odcs"


def test_a_contract_in_the_shape_of_the_standards_full_example_is_enforced_by_physical_names(
        spark, tmp_path: Path) -> None:
    contract, given = services(ODCS / "seller_payments.yaml")
    day, next_day = dt.date(2026, 11, 30), dt.date(2026, 12, 1)
    df = spark.createDataFrame([
        (day, "P1", "R1", "US", Decimal("10.00"), next_day),
        (day, "P2", None, "XX", Decimal("-5.00"), dt.date(2026, 11, 29)),  # no receiver, bad country, < 0, settles early
        (day, "P3_TOO_LONG_ID", "R3", "FRA", Decimal("1.00"), None),  # 14 > 12 letters, 3 > 2 letters, bad country
        (None, "P4", "R4", "DE", Decimal("2.50"), None),  # no date
        (day, "P1", "R5", "NL", Decimal("3.00"), None),  # P1 again
    ], "txn_ref_dt date, pmt_txn_id string, rcvr_id string, rcvr_cntry_code string, pmt_amt decimal(12,2), "
       "settle_dt date")
    result = write_with_contract(df=df, contract_id=contract.id, path=str(tmp_path / "out"), format="parquet",
                                 enforce=False, **given)
    counted = {key: value for key, value in result.metrics.items() if key.startswith("violations.") and value}
    # a null in a required column breaks its other rules too (a check that gives NULL is a violation)
    assert counted == {"violations.not_null:transaction_reference_date": 1, "violations.max_length:payment_id": 1,
                       "violations.not_null:receiver_id": 1, "violations.max_length:receiver_id": 1,
                       "violations.max_length:receiver_country": 1, "violations.ge:amount": 1,
                       "violations.unique:payment_id": 1}
    assert {key: result.metrics[key] for key in ("metrics.null_values:receiver_id", "metrics.row_count:payments",
                                                  "metrics.invalid_values:receiver_country", "metrics.sql:payments")} == {
        "metrics.null_values:receiver_id": 1, "metrics.row_count:payments": 5,
        "metrics.invalid_values:receiver_country": 2, "metrics.sql:payments": 1}
    assert spark.read.parquet(str(tmp_path / "out")).count() == 5
    assert not [w for w in result.warnings if "ignored" in w or "not in the contract" in w]


def test_sql_rules_naming_their_table_literally_are_counted(spark, tmp_path: Path) -> None:
    contract, given = services(ODCS / "air_quality.yaml")
    when = dt.datetime(2026, 12, 1, 8)
    df = spark.createDataFrame([("S1", when, 12.0), ("S2", when, 1500.0), ("S3", when, None), ("S4", when, None),
                                ("S5", when, None), ("STATION_9", when, 3.0)], "station string, measured_at timestamp, "
                                                                              "pm25 double")
    result = write_with_contract(df=df, contract_id=contract.id, path=str(tmp_path / "out"), format="parquet",
                                 enforce=False, **given)
    assert result.metrics["metrics.sql:Air_Quality"] == 1 and result.metrics["metrics.sql:Air_Quality#2"] == 3
    assert result.metrics["violations.max_length:station"] == 1
    assert sorted(e.split(":")[0] + ":" + e.split(":")[1] for e in result.errors) == [
        "max_length:station", "sql:Air_Quality", "sql:Air_Quality#2"]


def test_a_sql_rule_that_cannot_run_stops_a_batch_write_before_it_measures_with_one_line(
        spark, tmp_path: Path, capfd) -> None:
    from dc43.errors import ContractFormatError

    contract, given = services(ODCS / "air_quality.yaml")
    contract.schema_[0].quality[0].query = "select count(*) from Air_Quality_2025 where pm25 > 1000"
    given["contract_service"].store.put(contract.model_copy(update={"version": "1.0.1"}))
    df = spark.createDataFrame([("S1", None, 12.0)], "station string, measured_at timestamp, pm25 double")
    with pytest.raises(ContractFormatError) as raised:
        write_with_contract(df=df, contract_id=contract.id, expected_contract_version="==1.0.1",
                            path=str(tmp_path / "out"), format="parquet", **given)
    assert "'sql:Air_Quality'" in str(raised.value) and "'Air_Quality_2025', which is not the batch" in str(raised.value)
    assert not (tmp_path / "out").exists()
    err = capfd.readouterr().err
    assert "TABLE_OR_VIEW_NOT_FOUND" not in err and "Traceback" not in err
