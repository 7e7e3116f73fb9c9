"""Data-product ports: the contract comes from the port, ports land in the catalogue."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from dc43.errors import Dc43Error
from dc43.products import DataProductOutputBinding, LocalDataProductService
from dc43_integrations.spark.io import (
    read_stream_from_data_product,
    write_stream_to_data_product,
    write_to_data_product,
)

from tests.spark.orders import BATCHES, SCHEMA, stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect]


def test_a_stream_from_one_products_output_port_into_anothers(spark, parquet_batches, tmp_path: Path, services):
    products = LocalDataProductService(tmp_path / "gov.db")
    raw = spark.createDataFrame(sum(BATCHES, []), SCHEMA).filter("customer is not null")
    sales_path = str(tmp_path / "sales")
    written = write_to_data_product(
        df=raw, data_product_service=products, path=sales_path, format="parquet",
        data_product_output={"data_product": "sales", "port_name": "orders"},  # the spec's mapping form
        contract_id="sales.orders", enforce=False, **services)
    assert written.details["data_product"]["version"] == "0.1.0"
    assert products.port_contract("sales", "output", "orders").contract_id == "sales.orders"

    df, read = read_stream_from_data_product(
        spark=spark, data_product_service=products, format="parquet", path=sales_path,
        data_product_input={"data_product": "analytics", "port_name": "orders_in",
                            "source_data_product": "sales", "source_output_port": "orders"},
        **services)
    assert read.details["contract_id"] == "sales.orders" and read.details["contract_version"] == "1.0.0"
    sink = f"analytics_{uuid.uuid4().hex[:6]}"
    result = write_stream_to_data_product(
        df=df, data_product_service=products, format="memory", enforce=False,
        options={"queryName": sink, "checkpointLocation": str(tmp_path / "cp")},
        data_product_output=DataProductOutputBinding(data_product="analytics", port_name="clean_orders"),
        contract_id="sales.orders", **services)
    try:
        queries = result.details["streaming_queries"]
        assert queries and all(q.isActive for q in queries)
        for query in queries:
            query.processAllAvailable()
    finally:
        stop_all(result)
    assert spark.table(sink).count() == raw.count()
    analytics = products.get("analytics")
    assert [p.name for p in analytics.input_ports] == ["orders_in"]
    assert analytics.input_ports[0].source_data_product == "sales"
    assert [p.name for p in analytics.output_ports] == ["clean_orders"]
    assert analytics.version == "0.2.0"  # one draft version per port bound


def test_a_changed_binding_creates_a_new_draft_version_and_says_so(spark, tmp_path: Path, services):
    from tests.spark.orders import orders_contract

    products = LocalDataProductService()
    store = services["contract_service"].store
    store.put(orders_contract().model_copy(update={"version": "1.1.0"}))
    df = spark.createDataFrame(BATCHES[0], SCHEMA)
    binding = {"data_product": "sales", "port_name": "orders"}
    first = write_to_data_product(df=df, data_product_service=products, path=str(tmp_path / "a"),
                                  format="parquet", data_product_output=binding, contract_id="sales.orders",
                                  expected_contract_version="==1.0.0", **services)
    again = write_to_data_product(df=df, data_product_service=products, path=str(tmp_path / "a"),
                                  format="parquet", data_product_output=binding, mode="overwrite", **services)
    assert again.details["data_product"]["changed"] is False  # same binding, same version
    moved = write_to_data_product(df=df, data_product_service=products, path=str(tmp_path / "a"),
                                  format="parquet", data_product_output=binding, contract_id="sales.orders",
                                  expected_contract_version="==1.1.0", mode="overwrite", **services)
    registration = moved.details["data_product"]
    assert first.details["data_product"]["version"] == "0.1.0"
    assert (registration["version"], registration["status"], registration["changed"]) == ("0.2.0", "draft", True)
    assert "new draft version 0.2.0" in registration["message"]
    assert products.get("sales", "0.1.0").port("output", "orders").version == "1.0.0"


def test_an_unbound_port_names_the_fix(spark, services):
    with pytest.raises(Dc43Error, match="source_output_port"):
        read_stream_from_data_product(spark=spark, data_product_service=LocalDataProductService(),
                                      data_product_input={"data_product": "x", "port_name": "in"},
                                      **services)
    with pytest.raises(Dc43Error, match="unknown keys"):
        read_stream_from_data_product(spark=spark, data_product_service=LocalDataProductService(),
                                      data_product_input={"product": "x", "port_name": "in"}, **services)
