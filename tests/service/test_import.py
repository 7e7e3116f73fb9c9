"""``dc43 migrate --import`` brings a pipeline machine's governance database and contracts folder into
the service, nothing lost, and twice is the same as once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dc43.contracts import FSContractStore
from dc43.contracts.loading import contract_from_dict
from dc43.governance import LocalGovernanceService
from dc43.governance.service import MetricsRequest, SchemaObservation
from dc43.products import LocalDataProductService
from dc43.products.models import Port
from dc43_http.clients import RemoteContractServiceClient, RemoteDataProductServiceClient, RemoteGovernanceServiceClient

from tests.service.test_api import orders, verdict
from tests.service_process import ServeProcess

pytestmark = pytest.mark.service


def _local_state(folder: Path) -> Path:
    """A governance database and contracts folder as pipelines on one machine leave them."""
    store = FSContractStore(folder / "contracts")
    for version in ("1.0.0", "1.1.0"):
        store.put(contract_from_dict(orders(version), "test"))
    path = folder / ".dc43" / "governance.db"
    governance = LocalGovernanceService(path)
    for batch in range(5):
        governance.record_verdict(verdict(batch, "warn" if batch == 3 else "ok"))
    governance.record_commit("sales.orders", "1", 2, {"sink": {"delta_version": 9}})
    governance.record_observation(SchemaObservation("sales.orders", "1", "sales.orders", "1.0.0", "write_stream",
                                                    {"fields": []}, "ok", {"job": "nightly"},
                                                    "2026-12-07T09:00:00.000000Z", {"format": "delta"}, ("w",)))
    governance.record_alert({"dataset_id": "sales.orders", "status": "warn", "previous": "ok", "batch_id": 3},
                            {"webhook": False})
    period = governance.record_stale({"dataset_id": "sales.orders", "since": "2026-12-07T10:00:04.000000Z",
                                      "detected_at": "2026-12-07T10:09:00.000000Z", "last_batch_id": 4,
                                      "frequency_s": 300.0})
    governance.end_stale(period, "2026-12-07T10:12:00.000000Z")
    governance.save_metrics_request(MetricsRequest("req-1", "sales.orders", "1", "done", "ok", {"row_count": 50},
                                                   None, "2026-12-07T10:00:00.000000Z", "2026-12-07T10:00:09.000000Z"))
    LocalDataProductService(path).register_port("sales", "output", Port("orders", "sales.orders", "1.1.0"))
    return path


def test_migrate_imports_a_local_governance_database_and_its_contracts_once(database_url: str, tmp_path: Path) -> None:
    path = _local_state(tmp_path / "machine")
    local = LocalGovernanceService(path)
    command = [sys.executable, "-m", "dc43.cli", "migrate", "--database-url", database_url, "--import", str(path),
               "--contracts", str(tmp_path / "machine" / "contracts")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    for _ in range(2):  # the second import finds everything there already
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "imported 2 contract versions" in done.stdout
        assert "5 verdicts" in done.stdout and "1 alerts" in done.stdout and "1 stale periods" in done.stdout

    service = ServeProcess(database_url, tmp_path / "service").start()
    try:
        kwargs = {"base_url": service.url, "token": service.token}
        governance = RemoteGovernanceServiceClient(**kwargs)
        assert governance.datasets() == local.datasets()
        assert governance.verdicts("sales.orders") == local.verdicts("sales.orders")
        assert governance.observations("sales.orders") == local.observations("sales.orders")
        assert governance.alerts("sales.orders") == local.alerts("sales.orders")
        assert governance.stale_periods("sales.orders") == local.stale_periods("sales.orders")
        assert governance.metrics_request("req-1") == local.metrics_request("req-1")
        assert governance.dataset_versions("sales.orders") == local.dataset_versions("sales.orders")
        assert RemoteContractServiceClient(**kwargs).list_versions("sales.orders") == ["1.0.0", "1.1.0"]
        assert RemoteDataProductServiceClient(**kwargs).port_contract("sales", "output", "orders").version == "1.1.0"
    finally:
        service.stop()


def test_serve_imports_before_it_serves(tmp_path: Path) -> None:
    path = _local_state(tmp_path / "machine")
    url = f"sqlite:///{tmp_path / 'service' / 'service.db'}"
    service = ServeProcess(url, tmp_path / "service", args=("--import", str(path), "--contracts",
                                                             str(tmp_path / "machine" / "contracts"))).start()
    try:
        governance = RemoteGovernanceServiceClient(base_url=service.url, token=service.token)
        assert governance.verdicts("sales.orders") == LocalGovernanceService(path).verdicts("sales.orders")
        assert "imported from" in service.log() and "5 verdicts" in service.log()
    finally:
        service.stop()


def test_migrate_names_a_missing_database_and_a_bad_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    missing = subprocess.run([sys.executable, "-m", "dc43.cli", "migrate", "--database-url",
                              f"sqlite:///{tmp_path / 's.db'}", "--import", str(tmp_path / "nowhere.db")],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no governance database at" in missing.stderr
    bad = subprocess.run([sys.executable, "-m", "dc43.cli", "migrate", "--database-url", "postgres//nohost"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "is not a URL" in bad.stderr and "postgresql+psycopg://" in bad.stderr
