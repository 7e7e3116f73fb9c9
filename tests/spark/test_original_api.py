"""Batch pipelines written for the original dc43 (0.33), run unchanged: its import paths, its
signatures and the outcomes its users read (``docs/migrating.md``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from dc43_integrations.spark.io import (
    DefaultReadStatusStrategy,
    NoOpWriteViolationStrategy,
    StaticDatasetLocator,
    read_from_contract,
    read_from_data_product,
    read_with_contract,
    write_to_data_product,
    write_with_contract,
    write_with_contract_id,
)
from dc43_integrations.spark.violation_strategy import SplitWriteViolationStrategy, StrictWriteViolationStrategy
from dc43_service_backends.contracts.backend.stores import FSContractStore
from dc43_service_clients.contracts import LocalContractServiceClient
from dc43_service_clients.data_quality.client.local import LocalDataQualityServiceClient

from tests.spark.orders import governance_file
from tests.spark.original_api import CLEAN, COLUMNS, ROWS, OriginalGovernance, OriginalProducts, ledger_contract

pytestmark = pytest.mark.spark
REMOTE = (pytest.mark.connect, pytest.mark.cluster)


def services(tmp_path: Path, *contracts: Any) -> dict[str, Any]:
    """The services as the original's users built them: a contract folder, the local clients."""
    store = FSContractStore(str(tmp_path / "contracts"))
    for contract in contracts:
        store.put(contract)
    return {"contract_service": LocalContractServiceClient(store),
            "data_quality_service": LocalDataQualityServiceClient(), "governance_service": governance_file()}


def saved(spark: Any, path: Path, rows: list[tuple] = CLEAN) -> str:
    spark.createDataFrame(rows, COLUMNS).write.mode("overwrite").parquet(str(path))
    return str(path)


@pytest.mark.connect
def test_read_takes_the_session_positionally_and_details_carry_the_verdict(spark, tmp_path):
    source = saved(spark, tmp_path / "ledger", ROWS)
    given = services(tmp_path, ledger_contract(source))
    df, status = read_with_contract(spark, contract_id="legacy.ledger", expected_contract_version="==1.0.0",
                                    enforce=False, **given)
    assert df.count() == 4
    assert status.status == "block"
    details = status.details
    assert details["status"] == "block" and details["violations"] == 2  # one bad amount, one bad currency
    assert details["errors"] == status.errors and any("currency" in e for e in details["errors"])
    assert details["metrics"]["row_count"] == 4
    assert details["observation_scope"] == "input_slice" and details["observation_operation"] == "read"
    assert read_with_contract(spark, contract_id="legacy.ledger", enforce=False, return_status=False,
                              **given).count() == 4


def test_an_enforced_read_of_bad_data_raises_a_value_error(spark, tmp_path):
    source = saved(spark, tmp_path / "ledger", ROWS)
    with pytest.raises(ValueError, match="currency"):
        read_from_contract(spark, contract_id="legacy.ledger", **services(tmp_path, ledger_contract(source)))


def test_a_draft_contract_is_refused_with_a_value_error_unless_the_strategy_allows_it(spark, tmp_path):
    source = saved(spark, tmp_path / "ledger")
    given = services(tmp_path, ledger_contract(source, status="draft"))
    with pytest.raises(ValueError, match="draft"):
        read_with_contract(spark, contract_id="legacy.ledger", expected_contract_version="==1.0.0", **given)
    df, status = read_with_contract(
        spark, contract_id="legacy.ledger", expected_contract_version="==1.0.0", **given,
        status_strategy=DefaultReadStatusStrategy(allowed_contract_statuses=("active", "draft")))
    assert df.count() == 2 and status.ok


@pytest.mark.connect
def test_a_deprecated_contract_blocks_a_write_unless_the_violation_strategy_allows_it(spark, tmp_path):
    target = str(tmp_path / "out")
    given = services(tmp_path, ledger_contract(target, status="deprecated"))
    df = spark.createDataFrame(CLEAN, COLUMNS)
    with pytest.raises(ValueError, match="deprecated"):
        write_with_contract(df=df, contract_id="legacy.ledger", mode="overwrite", **given)
    assert not Path(target).exists()
    result = write_with_contract(df=df, contract_id="legacy.ledger", mode="overwrite", **given,
                                 violation_strategy=NoOpWriteViolationStrategy(
                                     allowed_contract_statuses=("active", "deprecated")))
    assert result.ok and spark.read.parquet(target).count() == 2


@pytest.mark.connect
def test_an_enforced_write_that_breaks_the_contract_raises_a_value_error_and_writes_nothing(spark, tmp_path):
    target = str(tmp_path / "out")
    given = services(tmp_path, ledger_contract(target))
    df = spark.createDataFrame(ROWS, COLUMNS)
    try:
        write_with_contract_id(df=df, contract_id="legacy.ledger", mode="overwrite", **given)
    except ValueError as exc:
        assert "amount" in str(exc)
    else:
        pytest.fail("the write was not refused")
    assert not Path(target).exists()
    result, status = write_with_contract(df=df, contract_id="legacy.ledger", mode="overwrite", enforce=False,
                                         return_status=True, **given)
    assert not result.ok and status.status == "block" and status.details["violations"] == 2
    assert result.details["observation_scope"] == "pre_write_dataframe"
    assert spark.read.parquet(target).count() == 4  # enforce=False: written, and the verdict says so


def test_a_write_elsewhere_than_the_contract_server_says_so_in_warnings(spark, tmp_path, caplog):
    declared = str(tmp_path / "declared")
    given = services(tmp_path, ledger_contract(declared))
    df = spark.createDataFrame(CLEAN, COLUMNS)
    with caplog.at_level(logging.WARNING, logger="dc43_integrations.spark.io"):
        result = write_with_contract(df=df, contract_id="legacy.ledger", path=str(tmp_path / "actual"),
                                     format="json", mode="overwrite", **given)
    assert f"Provided path {tmp_path / 'actual'} does not match contract server path {declared}" in result.warnings
    assert "Format json does not match contract server format parquet" in result.warnings
    assert result.details["warnings"] == result.warnings
    assert any("does not match contract server format" in m for m in caplog.messages)
    assert spark.read.json(str(tmp_path / "actual")).count() == 2  # written where the call said
    versioned = write_with_contract(df=df, contract_id="legacy.ledger", path=f"{declared}/2024-01-01",
                                    mode="overwrite", **given)
    assert not any("does not match" in w for w in versioned.warnings)  # a folder under the server's path


def test_a_read_in_another_format_than_the_server_logs_it(spark, tmp_path, caplog):
    declared = str(tmp_path / "ledger")
    spark.createDataFrame(CLEAN, COLUMNS).write.mode("overwrite").json(declared)
    with caplog.at_level(logging.WARNING, logger="dc43_integrations.spark.io"):
        df, _ = read_with_contract(spark, contract_id="legacy.ledger", format="json",
                                   **services(tmp_path, ledger_contract(declared)))
    assert df.count() == 2
    assert any("Provided format json does not match contract server format parquet" in m for m in caplog.messages)


@pytest.mark.connect
def test_the_split_strategy_writes_the_valid_and_rejected_rows_apart(spark, tmp_path):
    target = tmp_path / "split"
    given = services(tmp_path, ledger_contract(str(target)))
    strategy = SplitWriteViolationStrategy()
    result = write_with_contract(df=spark.createDataFrame(ROWS, COLUMNS), contract_id="legacy.ledger",
                                 mode="overwrite", enforce=False, violation_strategy=strategy, **given)
    assert not result.ok
    assert "Valid subset written to dataset suffix 'valid'" in result.warnings
    assert "Rejected subset written to dataset suffix 'reject'" in result.warnings
    valid = spark.read.parquet(str(target / strategy.valid_suffix))
    rejected = spark.read.parquet(str(target / strategy.reject_suffix))
    assert sorted(r.order_id for r in valid.collect()) == [1, 2]
    assert sorted(r.order_id for r in rejected.collect()) == [3, 4]
    assert not list(target.glob("*.parquet"))  # the target itself got nothing


def test_the_strict_strategy_fails_the_result_of_a_write_with_violations(spark, tmp_path):
    target = str(tmp_path / "strict")
    given = services(tmp_path, ledger_contract(target))
    result = write_with_contract(df=spark.createDataFrame(ROWS, COLUMNS), contract_id="legacy.ledger",
                                 mode="overwrite", enforce=False, **given,
                                 violation_strategy=StrictWriteViolationStrategy(failure_message="strict: no"))
    assert not result.ok and "strict: no" in result.errors
    clean = write_with_contract(df=spark.createDataFrame(CLEAN, COLUMNS), contract_id="legacy.ledger",
                                mode="overwrite", violation_strategy=StrictWriteViolationStrategy(), **given)
    assert clean.ok


def test_a_write_without_a_contract_writes_as_given(spark, tmp_path):
    target = str(tmp_path / "plain")
    result = write_with_contract(df=spark.createDataFrame([(1,)], ["a"]), path=target, format="parquet",
                                 mode="overwrite", enforce=False)
    assert result.ok and not result.errors
    assert spark.read.parquet(target).count() == 1


@pytest.mark.connect
@pytest.mark.cluster
def test_overwriting_the_parquet_folder_a_dataframe_reads_keeps_its_rows(spark, tmp_path):
    target = saved(spark, tmp_path / "ledger")
    given = services(tmp_path, ledger_contract(target))
    df, _ = read_with_contract(spark, contract_id="legacy.ledger", **given)
    more = df.union(spark.createDataFrame([(9, 19, 1.0, "USD")], COLUMNS))
    result = write_with_contract(df=more, contract_id="legacy.ledger", mode="overwrite", **given)
    assert result.ok, result.errors
    assert sorted(r.order_id for r in spark.read.parquet(target).collect()) == [1, 2, 9]
    plain = spark.read.parquet(target)
    write_with_contract(df=plain.filter("order_id > 1"), path=target, format="parquet", mode="overwrite")
    assert sorted(r.order_id for r in spark.read.parquet(target).collect()) == [2, 9]


def test_a_governance_service_written_for_the_original_evaluates_and_links(spark, tmp_path):
    target = str(tmp_path / "out")
    contract = ledger_contract(target)
    governance = OriginalGovernance(contracts={("legacy.ledger", "1.0.0"): contract})
    df = spark.createDataFrame(ROWS, COLUMNS)
    result, status = write_with_contract(
        df=df, contract_id="legacy.ledger", mode="overwrite", enforce=False, return_status=True,
        data_quality_service=LocalDataQualityServiceClient(), governance_service=governance,
        dataset_locator=StaticDatasetLocator(dataset_version="run-1"), pipeline_context=[("job", "nightly")])
    (evaluated,) = governance.evaluations
    assert evaluated["operation"] == "write" and evaluated["dataset_version"] == "run-1"
    assert evaluated["payload"].metrics["violations.enum:currency"] == 1
    assert status.details["assessed_by"] == "original" and status.status == "block"  # governance's answer
    assert governance.links == [{"dataset_id": target, "dataset_version": "run-1", "contract_id": "legacy.ledger",
                                 "contract_version": "1.0.0"}]
    assert governance.reviews and governance.reviews[0]["base_contract"] is contract
    back, read_status = read_with_contract(spark, contract_id="legacy.ledger", enforce=False,
                                           data_quality_service=LocalDataQualityServiceClient(),
                                           governance_service=governance)  # contracts from governance too
    assert back.count() == 4 and governance.evaluations[-1]["operation"] == "read"
    assert read_status.details["assessed_by"] == "original"


def test_a_data_product_service_written_for_the_original_registers_ports(spark, tmp_path):
    target = str(tmp_path / "out")
    given = services(tmp_path, ledger_contract(target))
    products = OriginalProducts(changed=True)
    df = spark.createDataFrame(CLEAN, COLUMNS)
    with pytest.raises(RuntimeError, match="requires review"):
        write_to_data_product(df=df, data_product_service=products, contract_id="legacy.ledger",
                              data_product_output={"data_product": "dp.sales", "port_name": "ledger"},
                              mode="overwrite", **given)
    assert products.outputs[0]["port_name"] == "ledger"
    products.changed = False
    with pytest.raises(ValueError, match="status 'draft' is not allowed"):  # the draft awaits its review
        write_to_data_product(df=df, data_product_service=products, contract_id="legacy.ledger",
                              data_product_output={"data_product": "dp.sales", "port_name": "ledger"},
                              mode="overwrite", **given)
    products.products["dp.sales"][-1].status = "active"  # a steward approved it
    result = write_to_data_product(df=df, data_product_service=products, contract_id="legacy.ledger",
                                   data_product_output={"data_product": "dp.sales"}, mode="overwrite", **given)
    assert result.ok and products.outputs[-1]["port_name"] == "legacy.ledger"  # no port_name: the contract's id
    df, status = read_from_data_product(
        spark, data_product_service=products, **given,
        data_product_input={"data_product": "dp.reports", "source_data_product": "dp.sales",
                            "source_output_port": "legacy.ledger"})
    assert df.count() == 2 and status.ok
    assert products.inputs[-1] | {"port_name": "legacy.ledger", "source_output_port": "legacy.ledger"} == \
        products.inputs[-1]
    again, _ = read_from_data_product(spark, data_product_service=products, **given,  # only its own input port
                                      data_product_input={"data_product": "dp.reports", "port_name": "legacy.ledger"})
    assert again.count() == 2
    with pytest.raises(ValueError, match="9.9.9"):
        read_from_data_product(spark, data_product_service=products, **given,
                               data_product_input={"data_product": "dp.reports", "data_product_version": "9.9.9",
                                                   "source_data_product": "dp.sales",
                                                   "source_output_port": "legacy.ledger"})


@pytest.mark.connect
def test_overwriting_the_delta_table_a_dataframe_reads_keeps_its_rows(spark, tmp_path):
    from dc43_integrations.spark.io import get_delta_version

    target = str(tmp_path / "ledger")
    spark.createDataFrame(CLEAN, COLUMNS).write.format("delta").save(target)
    given = services(tmp_path, ledger_contract(target, fmt="delta"))
    df, _ = read_with_contract(spark, contract_id="legacy.ledger", **given)
    result = write_with_contract(df=df.union(spark.createDataFrame([(9, 19, 1.0, "USD")], COLUMNS)),
                                 contract_id="legacy.ledger", mode="overwrite", **given)
    assert result.ok, result.errors
    assert sorted(r.order_id for r in spark.read.format("delta").load(target).collect()) == [1, 2, 9]
    assert get_delta_version(spark, path=target) == "1"
    assert get_delta_version(spark, path=str(tmp_path / "nothing")) is None


def test_a_read_status_strategy_sees_every_read_and_may_replace_its_dataframe(spark, tmp_path):
    source = saved(spark, tmp_path / "ledger", ROWS)
    seen: list[Any] = []

    class OnlyPositive(DefaultReadStatusStrategy):
        def apply(self, *, dataframe, status, enforce, context):
            seen.append((status.status, context.contract.id, context.dataset_id))
            return dataframe.filter("amount > 0"), status

    df, status = read_with_contract(spark, contract_id="legacy.ledger", enforce=False,
                                    status_strategy=OnlyPositive(), **services(tmp_path, ledger_contract(source)))
    assert df.count() == 3 and seen == [("block", "legacy.ledger", source)]
