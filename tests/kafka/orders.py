"""The orders contract with a primary key, as JSON records for Kafka."""

from __future__ import annotations

from typing import Any

from dc43.contracts import LocalContractServiceClient
from dc43.quality import LocalDataQualityService
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard

from tests.spark.orders import governance_file, orders_contract

CONTRACT_ID = "sales.orders"


def keyed_orders_contract() -> OpenDataContractStandard:
    """``tests.spark.orders``' contract with ``order_id`` as the primary key."""
    contract = orders_contract()
    contract.schema_[0].properties[0].primaryKey = True
    return contract


def services() -> dict[str, Any]:
    store = InMemoryContractStore()
    store.put(keyed_orders_contract())
    return {
        "contract_service": LocalContractServiceClient(store),
        "data_quality_service": LocalDataQualityService(),
        "governance_service": governance_file(),
    }


def order(order_id: int, customer: str | None = "ann", amount: Any = 1.0, currency: str = "EUR") -> dict[str, Any]:
    return {"order_id": order_id, "customer": customer, "amount": amount, "currency": currency}
