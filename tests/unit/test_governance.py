"""The SQLite governance service: migrations, upserts, paging, concurrency."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import attrs
import pytest
from dc43.governance import BatchVerdict, LocalGovernanceService, SchemaObservation
from dc43.governance.database import MIGRATIONS


def verdict(batch_id: int, status: str = "ok", *, dataset: str = "orders", version: str = "v1",
            at: str | None = None, violations: int = 0) -> BatchVerdict:
    return BatchVerdict(
        dataset_id=dataset, dataset_version=version, batch_id=batch_id, contract_id="sales.orders",
        contract_version="1.0.0", status=status, row_count=10,
        metrics={"row_count": 10, "violations.not_null:id": violations}, reason=None,
        recorded_at=at or f"2026-01-01T00:00:{batch_id:02d}.000000Z",
    )


def test_migrations_are_versioned_and_applied_once(tmp_path: Path) -> None:
    db = tmp_path / "gov.db"
    first = LocalGovernanceService(db)
    first.record_verdict(verdict(0))
    again = LocalGovernanceService(db)  # reopening applies nothing twice and keeps the data
    assert again.db.schema_version == len(MIGRATIONS)
    assert [v.batch_id for v in again.verdicts("orders")] == [0]


def test_a_replayed_batch_updates_its_row(tmp_path: Path) -> None:
    service = LocalGovernanceService(tmp_path / "gov.db")
    service.record_verdict(verdict(3, "block", violations=2))
    service.record_verdict(verdict(3, "ok", at="2026-01-02T00:00:00.000000Z"))
    (only,) = service.verdicts("orders")
    assert (only.batch_id, only.status, only.metrics["violations.not_null:id"]) == (3, "ok", 0)


def test_two_queries_writing_one_dataset_keep_verdicts_of_their_own(tmp_path: Path) -> None:
    service = LocalGovernanceService(tmp_path / "gov.db")
    for query in ("query-a", "query-b"):
        for batch_id in range(3):
            service.record_verdict(attrs.evolve(verdict(batch_id), query_id=query))
    service.record_verdict(attrs.evolve(verdict(1, "block"), query_id="query-b"))  # b's batch 1 replayed
    service.record_commit("orders", "v1", 2, {"sink": {"delta_version": 4}}, query_id="query-a")
    kept = {(v.query_id, v.batch_id): (v.status, v.commit) for v in service.verdicts("orders")}
    assert len(kept) == 6 and kept[("query-b", 1)] == ("block", None) and kept[("query-a", 1)] == ("ok", None)
    assert kept[("query-a", 2)] == ("ok", {"sink": {"delta_version": 4}}) and kept[("query-b", 2)][1] is None


def test_verdicts_of_a_database_from_before_queries_were_named_are_kept(tmp_path: Path) -> None:
    from dc43.governance.database import Database

    path = tmp_path / "gov.db"
    Database(path, MIGRATIONS[:5]).write(lambda conn: conn.execute(
        "INSERT INTO batch_verdicts VALUES ('orders', 'v1', 4, 'sales.orders', '1.0.0', 'warn', 10, 2, "
        "'{\"row_count\": 10}', 'late', '2026-01-01T00:00:04.000000Z', '{\"sink\": {}}')"))
    service = LocalGovernanceService(path)  # migrated to the newest schema
    (old,) = service.verdicts("orders")
    assert (old.batch_id, old.status, old.reason, old.commit, old.query_id) == (4, "warn", "late", {"sink": {}}, "")
    service.record_verdict(attrs.evolve(verdict(4), query_id="q"))
    assert sorted(v.query_id for v in service.verdicts("orders")) == ["", "q"]


def test_history_is_paged_oldest_first_and_latest_is_newest() -> None:
    service = LocalGovernanceService()
    for batch_id in range(7):
        service.record_verdict(verdict(batch_id))
    service.record_verdict(verdict(0, dataset="other"))
    assert [v.batch_id for v in service.verdicts("orders", limit=3)] == [0, 1, 2]
    assert [v.batch_id for v in service.verdicts("orders", limit=3, offset=6)] == [6]
    assert service.latest_verdict("orders").batch_id == 6
    assert service.latest_verdict("orders", "v2") is None


def test_datasets_versions_and_observations_are_linked_to_contracts() -> None:
    service = LocalGovernanceService()
    service.record_observation(SchemaObservation(
        dataset_id="orders", dataset_version="v1", contract_id="sales.orders",
        contract_version="1.0.0", operation="write_stream", schema={"fields": []}, status="ok",
        pipeline_context={"job": "ingest"}, recorded_at="2026-01-01T00:00:00.000000Z"))
    service.record_verdict(verdict(0, version="v2", at="2026-01-01T00:01:00.000000Z"))
    assert [d["dataset_id"] for d in service.datasets()] == ["orders"]
    versions = service.dataset_versions("orders")
    assert [(v["dataset_version"], v["contract_version"]) for v in versions] == [("v1", "1.0.0"), ("v2", "1.0.0")]
    (observation,) = service.observations("orders")
    assert observation.pipeline_context == {"job": "ingest"} and observation.operation == "write_stream"


def test_threads_of_one_process_lose_no_verdict(tmp_path: Path) -> None:
    service = LocalGovernanceService(tmp_path / "gov.db")

    def write(dataset: str) -> None:
        for batch_id in range(50):
            service.record_verdict(verdict(batch_id, dataset=dataset))

    threads = [threading.Thread(target=write, args=(f"d{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(service.verdicts(f"d{i}")) for i in range(4)) == 200


WRITER = """
import sys
from dc43.governance import BatchVerdict, LocalGovernanceService
service = LocalGovernanceService(sys.argv[1])
for batch_id in range(100):
    service.record_verdict(BatchVerdict(sys.argv[2], "v1", batch_id, "c", "1.0.0", "ok", 1, {}, None,
                                        f"2026-01-01T00:00:00.{batch_id:06d}Z"))
"""


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    db = str(tmp_path / "gov.db")  # created by whichever process comes first
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db, name]) for name in ("a", "b", "c")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    service = LocalGovernanceService(db)
    assert [len(service.verdicts(name)) for name in ("a", "b", "c")] == [100, 100, 100]


def test_retention_keeps_the_newest_verdicts_of_each_dataset(tmp_path) -> None:
    from dc43.governance.local import PRUNE_EVERY

    service = LocalGovernanceService(tmp_path / "gov.db", keep_verdicts=10)
    for n in range(PRUNE_EVERY * 2):
        for dataset in ("a", "b"):
            service.record_verdict(BatchVerdict(
                dataset_id=dataset, dataset_version=str(n), batch_id=n, contract_id="c", contract_version="1.0.0",
                status="ok", row_count=1, metrics={}, reason=None, recorded_at=f"2026-01-01T00:00:{n:02d}.{n:03d}Z"))
    for dataset in ("a", "b"):
        kept = [v.batch_id for v in service.verdicts(dataset)]
        assert kept[-10:] == list(range(PRUNE_EVERY * 2 - 10, PRUNE_EVERY * 2))
        assert len(kept) <= 10 + PRUNE_EVERY  # pruned every PRUNE_EVERY writes, never unbounded
    service.prune("a")
    assert len(service.verdicts("a")) == 10


def test_retention_comes_from_the_settings(tmp_path, monkeypatch) -> None:
    from dc43.errors import ConfigurationError
    from dc43.plugins import get_plugin_manager
    from dc43.settings import Settings

    monkeypatch.setenv("DC43_KEEP_VERDICTS", "25")
    settings = Settings.load()
    assert settings.keep_verdicts == 25
    assert get_plugin_manager().service("governance", settings).keep_verdicts == 25
    monkeypatch.setenv("DC43_KEEP_VERDICTS", "many")
    with pytest.raises(ConfigurationError, match="keep_verdicts.*'many'"):
        Settings.load()
