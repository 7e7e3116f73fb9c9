"""Spark fixtures shared by the tests in tests/spark."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from open_data_contract_standard.model import OpenDataContractStandard


def _contract(*properties: dict[str, Any], name: str = "orders") -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate(
        {
            "apiVersion": "v3.0.2",
            "kind": "DataContract",
            "id": "sales.orders",
            "version": "1.0.0",
            "status": "active",
            "schema": [{"name": name, "properties": list(properties)}],
        }
    )


@pytest.fixture
def make_contract() -> Callable[..., OpenDataContractStandard]:
    """Builds a minimal contract whose single schema object holds the given properties."""
    return _contract


@pytest.fixture
def parquet_batches(spark: Any, tmp_path: Any) -> Callable[..., str]:
    """Write one parquet file per intended micro-batch; returns the source folder.

    Stream it with ``maxFilesPerTrigger=1`` so each file is exactly one micro-batch.
    """
    from tests.parquet_files import batch_files

    def write(schema: Any, batches: list[list[tuple]], name: str = "source", first: int = 0) -> str:
        return batch_files(spark, schema, batches, tmp_path / name, first)

    return write


@pytest.fixture
def services() -> dict[str, Any]:
    """Fresh in-memory contract, data-quality and governance services with the orders contract."""
    from tests.spark.orders import orders_services

    return orders_services()


@pytest.fixture
def source_stream(spark: Any, parquet_batches: Any, services: dict[str, Any]) -> Any:
    """The orders stream, read under its contract: exactly one file per micro-batch."""
    from dc43_integrations.spark.io import read_stream_with_contract

    from tests.spark.orders import BATCHES, SCHEMA

    path = parquet_batches(SCHEMA, BATCHES)
    df, validation = read_stream_with_contract(
        spark=spark, contract_id="sales.orders", format="parquet", path=path,
        options={"maxFilesPerTrigger": "1"}, **services,
    )
    assert validation.ok, validation.errors
    return df
