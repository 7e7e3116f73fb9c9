"""The ``dc43`` command pointed at a shared service by ``DC43_SERVICE_URL`` alone: ``validate`` checks
the contracts pipelines will get from it, ``demo`` records its verdicts in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dc43.contracts.loading import contract_from_dict
from dc43_http.clients import RemoteContractServiceClient, RemoteGovernanceServiceClient

from tests.service.test_api import orders
from tests.service_process import ServeProcess

pytestmark = pytest.mark.service


def _dc43(service: ServeProcess, folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DC43_")}
    env.update(DC43_SERVICE_URL=service.url, DC43_SERVICE_TOKEN=service.token, SPARK_LOCAL_IP="127.0.0.1")
    return subprocess.run([sys.executable, "-m", "dc43.cli", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_validate_checks_every_contract_the_service_holds(service: ServeProcess, tmp_path: Path) -> None:
    contracts = RemoteContractServiceClient(base_url=service.url, token=service.token)
    contracts.put(contract_from_dict(orders("1.0.0"), "test"))
    contracts.put(contract_from_dict(orders("0.9.0", status="retired"), "test"))
    done = _dc43(service, tmp_path, "validate", "--json")
    assert done.returncode == 0, done.stderr
    checks = {c["version"]: c for c in json.loads(done.stdout)}
    assert set(checks) == {"0.9.0", "1.0.0"} and all(c["valid"] for c in checks.values())
    assert checks["1.0.0"]["source"] == f"{service.url} sales.orders@1.0.0"
    assert any("retired" in w for w in checks["0.9.0"]["warnings"]) and checks["1.0.0"]["warnings"] == []
    assert _dc43(service, tmp_path, "validate", "--strict").returncode == 1  # the retired version's warning


@pytest.mark.spark
@pytest.mark.e2e
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_records_its_verdicts_in_the_service(service: ServeProcess, tmp_path: Path) -> None:
    job = tmp_path / "job"
    job.mkdir()
    done = _dc43(service, job, "demo", "--batches", "2", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"verdicts are in the dc43 service at {service.url}" in done.stdout
    assert not (job / ".dc43" / "governance.db").exists() and not (job / "contracts").exists()
    judged = [line for line in done.stdout.splitlines() if line.startswith("batch ")]
    verdicts = RemoteGovernanceServiceClient(base_url=service.url, token=service.token).verdicts("demo.rate_stream")
    assert len(verdicts) >= len(judged) == 2
