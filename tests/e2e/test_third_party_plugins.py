"""Third-party plugins end to end: the installed example plugin, a broken one, and a pipeline."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from dc43.plugins import reset_plugin_manager
from open_data_contract_standard.model import (
    DataQuality,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
)

pytestmark = pytest.mark.e2e

EXAMPLE_DIST = "dc43-example-plugin"
EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / EXAMPLE_DIST
BUNDLED = ("filesystem", "memory", "rate")
CONTRACT_ID = "demo.countdown"


@pytest.fixture(scope="session")
def example_plugin() -> None:
    """Make sure the example plugin distribution is installed in this interpreter."""
    try:
        importlib.metadata.distribution(EXAMPLE_DIST)
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         str(EXAMPLE_DIR)],
        capture_output=True, text=True,
    )
    if install.returncode != 0:
        pytest.fail(
            f"could not install {EXAMPLE_DIST} from {EXAMPLE_DIR} (pip exit {install.returncode}); "
            "building without isolation needs setuptools>=70.1 or the 'wheel' package:\n"
            f"{install.stdout[-2000:]}\n{install.stderr[-2000:]}",
            pytrace=False,
        )
    importlib.invalidate_caches()


def run_cli(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    """Run ``dc43 <args>`` in a subprocess; ``env`` values of ``None`` remove the variable."""
    environ = dict(os.environ)
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return subprocess.run([sys.executable, "-m", "dc43.cli", *args], capture_output=True,
                          text=True, env=environ, timeout=120)


def listing_of(run: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert run.returncode == 0, run.stderr
    return {entry["name"]: entry for entry in json.loads(run.stdout)}


def test_cli_lists_the_example_plugin(example_plugin: None) -> None:
    listing = listing_of(run_cli("plugins", DC43_LOAD_PLUGINS=None))
    example = listing["example"]
    assert example["distribution"] == EXAMPLE_DIST
    assert example["version"] == "0.1.0"
    assert example["module"] == "dc43_example_plugin"
    assert example["bundled"] is False
    assert example["hooks"] == ["dc43_dataset_formats", "dc43_intervention_strategies"]
    assert example["error"] is None
    assert all(listing[name]["error"] is None for name in BUNDLED)


def test_example_plugin_discovery_imports_no_pyspark(example_plugin: None) -> None:
    code = ("import sys; from dc43.plugins import get_plugin_manager; pm = get_plugin_manager(); "
            "assert 'countdown' in pm.formats(); "
            "assert 'stop-on-first-failure' in pm.intervention_strategies(); "
            "print('pyspark' in sys.modules)")
    env = {**os.environ, "DC43_LOAD_PLUGINS": "filesystem,memory,rate,example"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (run.returncode, run.stdout.strip()) == (0, "False"), run.stderr


@pytest.fixture
def broken_plugin_path(tmp_path: Path) -> str:
    """A distribution whose entry point raises on import; returns a PYTHONPATH holding it."""
    (tmp_path / "broken_dc43_plugin.py").write_text('raise RuntimeError("boom")\n')
    info = tmp_path / "broken_dc43_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-dc43-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[dc43]\nbroken = broken_dc43_plugin\n")
    return os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))


def test_broken_plugin_is_listed_with_its_error(broken_plugin_path: str) -> None:
    run = run_cli("plugins", PYTHONPATH=broken_plugin_path, DC43_LOAD_PLUGINS=None)
    listing = listing_of(run)
    broken = listing["broken"]
    assert "boom" in broken["error"]
    assert (broken["distribution"], broken["version"], broken["hooks"]) == (
        "broken-dc43-plugin", "1.0", [])
    for name in BUNDLED:
        assert listing[name]["error"] is None and listing[name]["hooks"]
    assert "'broken'" in run.stderr and "DC43_DISABLE_PLUGINS=broken" in run.stderr


def test_broken_plugin_fails_strict_mode(broken_plugin_path: str) -> None:
    run = run_cli("plugins", PYTHONPATH=broken_plugin_path, DC43_LOAD_PLUGINS=None,
                  DC43_STRICT_PLUGINS="1")
    assert run.returncode != 0
    assert "dc43 plugin 'broken'" in run.stderr and "boom" in run.stderr


def countdown_contract() -> OpenDataContractStandard:
    return OpenDataContractStandard(
        apiVersion="3.0.2", kind="DataContract", id=CONTRACT_ID, version="1.0.0",
        status="active",
        schema=[SchemaObject(name="countdown", properties=[
            SchemaProperty(name="timestamp", physicalType="timestamp", required=True),
            SchemaProperty(name="value", physicalType="bigint", required=True),
            SchemaProperty(name="remaining", physicalType="bigint", required=True,
                           quality=[DataQuality(mustBeGreaterThan=5)]),
        ])],
    )


@pytest.fixture
def contract_service(example_plugin: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The example plugin loaded beside the bundled ones, and the countdown contract."""
    from dc43.contracts import LocalContractServiceClient
    from dc43_memory.store import InMemoryContractStore

    monkeypatch.setenv("DC43_LOAD_PLUGINS", ",".join([*BUNDLED, "example"]))
    reset_plugin_manager()
    store = InMemoryContractStore()
    store.put(countdown_contract())
    return LocalContractServiceClient(store)


@pytest.mark.spark
def test_countdown_batch_read(spark: Any, contract_service: Any) -> None:
    from dc43 import read_with_contract

    df, result = read_with_contract(spark=spark, contract_id=CONTRACT_ID,
                                    contract_service=contract_service, format="countdown")
    assert result.ok, result.errors
    assert [(row.value, row.remaining) for row in df.orderBy("value").collect()] == [
        (0, 10), (1, 9), (2, 8)]


@pytest.mark.spark
def test_pipeline_with_example_format_and_strategy(spark: Any, contract_service: Any,
                                                   tmp_path: Path) -> None:
    from dc43 import read_stream_with_contract, write_stream_with_contract
    from dc43.errors import StreamingInterventionError
    from dc43.governance import LocalGovernanceService
    from dc43.quality import LocalDataQualityService

    queries: list[Any] = []
    try:
        df, read_result = read_stream_with_contract(
            spark=spark, contract_id=CONTRACT_ID, contract_service=contract_service,
            format="countdown", options={"rowsPerBatch": "3"},
        )
        assert read_result.ok, read_result.errors
        result = write_stream_with_contract(
            df=df, contract_id=CONTRACT_ID, contract_service=contract_service, format="memory",
            options={"queryName": f"countdown_{uuid.uuid4().hex[:8]}",
                     "checkpointLocation": str(tmp_path / "cp")},
            streaming_intervention_strategy="stop-on-first-failure",
            data_quality_service=LocalDataQualityService(),
            governance_service=LocalGovernanceService(),
        )
        queries = result.details["streaming_queries"]
        sink, observation = queries[0], queries[-1]
        with pytest.raises(StreamingInterventionError) as failure:
            if not observation.awaitTermination(60):
                pytest.fail("the observation query was still running after 60 s")

        reason = result.details["streaming_intervention_reason"]
        assert reason.startswith("stop-on-first-failure: micro-batch 1 ")
        assert f"'{CONTRACT_ID}'" in reason
        assert str(failure.value) == reason and failure.value.batch_id == 1
        assert result.details["streaming_intervention_batch"] == 1
        batches = {entry["batch_id"]: entry for entry in result.details["streaming_batches"]}
        assert sorted(batches) == [0, 1]
        assert (batches[0]["status"], batches[0]["row_count"], batches[0]["violations"]) == (
            "ok", 3, 0)
        assert (batches[1]["status"], batches[1]["row_count"], batches[1]["violations"]) == (
            "block", 3, 1)
        assert batches[1]["intervention"] == reason
        assert not sink.isActive
    finally:
        for query in queries:
            query.stop()
