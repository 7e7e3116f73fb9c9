"""The orders stream shared by the streaming tests: four micro-batches, hand-counted."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from dc43.contracts import LocalContractServiceClient
from dc43.governance import LocalGovernanceService
from dc43.quality import LocalDataQualityService
from dc43_integrations.spark.io import write_stream_with_contract
from dc43_memory.store import InMemoryContractStore
from open_data_contract_standard.model import OpenDataContractStandard

SCHEMA = "order_id bigint, customer string, amount double, currency string"
# batch 0: clean; batch 1: null customer + negative amount; batch 2: bad currency
# + duplicate id; batch 3: clean.
BATCHES = [
    [(1, "ann", 10.0, "EUR"), (2, "bob", 20.0, "USD")],
    [(3, None, -1.0, "EUR"), (4, "cid", -5.0, "GBP"), (5, "dan", 1.0, "USD")],
    [(6, "eve", 3.0, "XXX"), (6, "fay", 4.0, "EUR")],
    [(7, "gus", 7.0, "GBP")],
]



def apart(batches: list[list[tuple]]) -> list[list[tuple]]:
    """``batches`` with order ids 100 apart from one batch to the next: a batch repeated keeps its
    hand-counted rules without repeating an earlier batch's keys (``unique_across:order_id``)."""
    return [[(row[0] + 100 * index, *row[1:]) for row in rows] for index, rows in enumerate(batches)]


def orders_contract() -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "sales.orders", "version": "1.0.0",
        "status": "active",
        "schema": [{"name": "orders", "properties": [
            {"name": "order_id", "physicalType": "bigint", "required": True, "unique": True},
            {"name": "customer", "physicalType": "string", "required": True},
            {"name": "amount", "physicalType": "double",
             "quality": [{"mustBeGreaterOrEqualTo": 0}]},
            {"name": "currency", "physicalType": "string",
             "quality": [{"rule": "enum", "mustBe": ["EUR", "USD", "GBP"]}]},
        ]}],
    })


def governance_file() -> LocalGovernanceService:
    """Governance in a new SQLite file: on Spark Connect the batch side, in a process of the
    server's, records verdicts in it too (a database in this process's memory cannot be)."""
    return LocalGovernanceService(Path(tempfile.mkdtemp(prefix="dc43-governance-")) / "governance.db")


def orders_services() -> dict[str, Any]:
    store = InMemoryContractStore()
    store.put(orders_contract())
    return {
        "contract_service": LocalContractServiceClient(store),
        "data_quality_service": LocalDataQualityService(),
        "governance_service": governance_file(),
    }


def start_write(df: Any, tmp_path: Any, services: dict[str, Any], **kwargs: Any) -> tuple[Any, str]:
    name = f"sink_{uuid.uuid4().hex[:8]}"
    result = write_stream_with_contract(
        df=df, contract_id="sales.orders", expected_contract_version="==1.0.0", format="memory",
        options={"queryName": name, "checkpointLocation": str(tmp_path / "cp")},
        **services, **kwargs,
    )
    return result, name


def stop_all(result: Any) -> None:
    for query in result.details.get("streaming_queries", []):
        query.stop()


def drained(result: Any) -> Any:
    """``result`` once its queries processed everything available, then stopped."""
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
    finally:
        stop_all(result)
    return result
