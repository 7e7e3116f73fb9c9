"""Spark fixtures shared by the tests in tests/spark."""

from __future__ import annotations

from typing import Any, Callable

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
