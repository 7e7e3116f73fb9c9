"""Bringing a pipeline machine's state into the service: a local governance database (verdicts,
observations, alerts, stale periods, metric requests, data products) and a contracts folder.

Every record goes through the service's idempotent writes, so importing twice keeps one copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dc43.contracts.store import FSContractStore
from dc43.errors import GovernanceDatabaseError
from dc43.governance.database import Database
from dc43.governance.local import observation_from_row, request_from_row, verdict_from_row
from dc43.products.models import DataProduct
from dc43.service import tables as t
from dc43.service.contract_store import SQLContractStore
from dc43.service.database import ServiceDatabase
from dc43.service.governance_store import SQLGovernanceStore
from dc43.service.product_store import SQLDataProductStore
from dc43.service.upserts import upsert


def import_governance(path: str | Path, database: ServiceDatabase) -> dict[str, int]:
    """Copy every record of the local governance database at ``path``; returns how many of each."""
    file = Path(path)
    if not file.is_file():
        raise GovernanceDatabaseError(f"no governance database at {file} to import; give the path of a "
                                      ".dc43/governance.db file")
    local = Database(file)  # brings an older file to the newest local schema first
    store, products = SQLGovernanceStore(database), SQLDataProductStore(database)
    counts: dict[str, int] = {}

    def each(name: str, sql: str) -> list[Any]:
        rows = local.rows(sql)
        counts[name] = len(rows)
        return rows

    for row in each("observations", "SELECT * FROM observations ORDER BY id"):
        store.record_observation(observation_from_row(row))
    for row in each("verdicts", "SELECT * FROM batch_verdicts ORDER BY recorded_at, batch_id"):
        store.record_verdict(verdict_from_row(row))
    for row in each("alerts", "SELECT * FROM alerts ORDER BY id"):
        store.record_alert(json.loads(row["alert_json"]), json.loads(row["delivered_json"]),
                           recorded_at=row["recorded_at"])
    for row in each("stale_periods", "SELECT * FROM stale_periods ORDER BY id"):
        period_id = store.record_stale(dict(row))
        if row["ended_at"]:
            store.end_stale(period_id, row["ended_at"])
    for row in each("metric_requests", "SELECT * FROM metric_requests"):
        store.save_metrics_request(request_from_row(row))
    for row in each("data_products", "SELECT document_json FROM data_products"):
        products.put(DataProduct.from_dict(json.loads(row["document_json"])))
    # last: when each dataset was first and last seen, and each version's link, as the file says
    with database.engine.begin() as connection:
        for row in each("datasets", "SELECT * FROM datasets"):
            upsert(connection, t.datasets, dict(row), keys=["dataset_id"], update=["first_seen", "last_seen"])
        for row in each("dataset_versions", "SELECT * FROM dataset_versions"):
            upsert(connection, t.dataset_versions, dict(row), keys=["dataset_id", "dataset_version"],
                   update=["contract_id", "contract_version", "recorded_at"])
    return counts


def import_contracts(folder: str | Path, database: ServiceDatabase) -> int:
    """Publish every contract version of a contracts folder (``<id>/<version>.json``); returns how many."""
    source, target = FSContractStore(folder), SQLContractStore(database)
    published = 0
    for contract_id in source.list_contracts():
        for version in source.list_versions(contract_id):
            target.put(source.get(contract_id, version))
            published += 1
    return published
