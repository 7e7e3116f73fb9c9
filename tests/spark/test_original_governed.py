"""The original dc43's governed helpers (``*_with_governance``), run unchanged: requests, contexts,
plans resolved by governance, data-product bindings and the governance service they built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dc43.products import LocalDataProductService
from dc43_integrations.spark.io import (
    DefaultReadStatusStrategy,
    GovernanceSparkReadRequest,
    GovernanceSparkWriteRequest,
    read_with_governance,
    write_with_governance,
)
from dc43_service_backends.contracts.backend.stores import FSContractStore
from dc43_service_clients.governance import GovernanceReadContext, build_local_governance_service

from tests.spark.orders import governance_file
from tests.spark.original_api import CLEAN, COLUMNS, ROWS, PlanningGovernance, ledger_contract

pytestmark = pytest.mark.spark
CONTRACT = {"contract_id": "legacy.ledger", "contract_version": "1.0.0"}


def governance(tmp_path: Path, *contracts: Any, products: Any = None) -> Any:
    store = FSContractStore(str(tmp_path / "contracts"))
    for contract in contracts:
        store.put(contract)
    return build_local_governance_service(store, data_product_backend=products, governance=governance_file())


@pytest.mark.connect
def test_a_governed_write_and_read_need_only_the_governance_service(spark, tmp_path):
    target = str(tmp_path / "ledger")
    service = governance(tmp_path, ledger_contract(target))
    validation, status = write_with_governance(
        df=spark.createDataFrame(CLEAN, COLUMNS), governance_service=service, return_status=True,
        request=GovernanceSparkWriteRequest(context={"contract": CONTRACT}, path=target, format="parquet",
                                            mode="overwrite"))
    assert validation.ok and status.ok
    assert status.details["observation_scope"] == "pre_write_dataframe"
    assert status.details["observation_operation"] == "write"
    assert service.get_linked_contract_version(dataset_id="legacy.ledger") == "legacy.ledger:1.0.0"
    df, read_status = read_with_governance(
        spark, GovernanceSparkReadRequest(context=GovernanceReadContext(contract=CONTRACT), path=target,
                                          format="parquet"), governance_service=service)
    assert df.count() == 2 and read_status.ok
    assert read_status.details["observation_scope"] == "input_slice"
    assert read_status.details["dataset_id"] == "legacy.ledger"  # the plan names the dataset after the contract
    back = read_with_governance(spark, {"context": {"contract": {"contract_id": "legacy.ledger"}}},  # a mapping
                                governance_service=service, return_status=False)
    assert back.count() == 2


def test_a_governed_read_of_a_draft_contract_is_refused_unless_the_request_allows_it(spark, tmp_path):
    target = str(tmp_path / "ledger")
    spark.createDataFrame(CLEAN, COLUMNS).write.parquet(target)
    service = governance(tmp_path, ledger_contract(target, status="draft"))
    with pytest.raises(ValueError, match="draft"):
        read_with_governance(spark, GovernanceSparkReadRequest(context={"contract": CONTRACT}),
                             governance_service=service)
    df, status = read_with_governance(spark, GovernanceSparkReadRequest(
        context={"contract": CONTRACT},
        status_strategy=DefaultReadStatusStrategy(allowed_contract_statuses=("active", "draft"))),
        governance_service=service)
    assert df.count() == 2 and status.ok


def test_a_governed_write_that_breaks_the_contract_reports_it_or_raises(spark, tmp_path):
    target = str(tmp_path / "ledger")
    service = governance(tmp_path, ledger_contract(target))
    request = GovernanceSparkWriteRequest(context={"contract": CONTRACT}, path=target, format="parquet",
                                          mode="overwrite")
    df = spark.createDataFrame(ROWS, COLUMNS)
    result, status = write_with_governance(df=df, request=request, governance_service=service, enforce=False,
                                           return_status=True)
    assert not result.ok and status.status == "block" and status.details["violations"] == 2
    with pytest.raises(ValueError, match="amount"):
        write_with_governance(df=df, request=request, governance_service=service)


@pytest.mark.connect
def test_governed_helpers_take_the_contract_from_data_product_ports(spark, tmp_path):
    target = str(tmp_path / "ledger")
    products = LocalDataProductService(tmp_path / "products.db")
    service = governance(tmp_path, ledger_contract(target), products=products)
    write_with_governance(
        df=spark.createDataFrame(CLEAN, COLUMNS), governance_service=service,
        request=GovernanceSparkWriteRequest(
            context={"contract": CONTRACT, "output_binding": {"data_product": "dp.sales", "port_name": "ledger"}},
            path=target, format="parquet", mode="overwrite"))
    assert products.port_contract("dp.sales", "output", "ledger").contract_id == "legacy.ledger"
    df, status = read_with_governance(spark, GovernanceSparkReadRequest(
        context={"input_binding": {"data_product": "dp.reports", "source_data_product": "dp.sales",
                                   "source_output_port": "ledger"}}, path=target, format="parquet"),
        governance_service=service)
    assert df.count() == 2 and status.details["contract_id"] == "legacy.ledger"
    assert products.port_contract("dp.reports", "input", "ledger").version == "1.0.0"  # named after the source port


def test_an_original_governance_resolves_the_plan_and_registers_the_activity(spark, tmp_path):
    target = str(tmp_path / "ledger")
    contract = ledger_contract(target)
    service = PlanningGovernance(contracts={("legacy.ledger", "1.0.0"): contract})
    result = write_with_governance(df=spark.createDataFrame(CLEAN, COLUMNS), governance_service=service,
                                   request={"context": {"contract": CONTRACT}, "mode": "overwrite"})
    assert result.ok and spark.read.parquet(target).count() == 2
    (evaluated,) = service.evaluations
    assert evaluated["dataset_id"] == "planned.ledger" and evaluated["operation"] == "write"
    assert [kind for kind, _ in service.activities] == ["write"]
    df, status = read_with_governance(spark, {"context": {"contract": CONTRACT}}, governance_service=service)
    assert df.count() == 2 and status.details["assessed_by"] == "original"
    assert service.evaluations[-1]["dataset_version"] == "v7"  # the plan's version
    assert [kind for kind, _ in service.activities] == ["write", "read"]
    read_with_governance(spark, {"context": {"contract": CONTRACT}, "publication_mode": "open_data_lineage"},
                         governance_service=service)
    assert len(service.activities) == 2  # lineage-only publication registers no activity


@pytest.mark.connect
def test_a_governed_stream_records_each_batch_in_the_governance_it_built(spark, tmp_path):
    from dc43_integrations.spark.io import write_stream_with_governance

    service = governance(tmp_path, ledger_contract())
    spark.createDataFrame(CLEAN, COLUMNS).write.parquet(str(tmp_path / "source"))
    stream = spark.readStream.schema(spark.read.parquet(str(tmp_path / "source")).schema).parquet(
        str(tmp_path / "source"))
    result = write_stream_with_governance(
        df=stream, governance_service=service,
        request=GovernanceSparkWriteRequest(context={"contract": CONTRACT}, format="memory",
                                            options={"queryName": "governed_ledger"}))
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
    finally:
        for query in result.details["streaming_queries"]:
            query.stop()
    assert result.ok, result.errors
    (verdict,) = service.verdicts("legacy.ledger")  # the records it delegates to, written where batches ran
    assert verdict.row_count == 2 and verdict.status == "ok"
