"""A stream restarted on its checkpoint keeps the contract version it started with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dc43.errors import InvalidArgumentError
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

from tests.spark.orders import BATCHES, SCHEMA, orders_contract, stop_all

pytestmark = pytest.mark.spark
#: the tests that also run on Spark Connect and the standalone cluster (docs/testing.md: one per
#: behaviour whose code path differs there; the variants of a behaviour run on classic Spark)
REMOTE = (pytest.mark.connect, pytest.mark.cluster)


def publish(services: dict[str, Any], version: str) -> None:
    newer = orders_contract().model_copy(update={"version": version}, deep=True)
    newer.schema_[0].properties[2].required = True  # a stricter amount
    services["contract_service"].store.put(newer)


def run(spark: Any, source: str, tmp_path: Path, services: dict[str, Any], **kwargs: Any) -> Any:
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    result = write_stream_with_contract(
        df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "out"), enforce=False,
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline", **services, **kwargs)
    try:
        result.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(result)
    return result


def judged_by(services: dict[str, Any], tmp_path: Path) -> dict[int, str]:
    return {v.batch_id: v.contract_version for v in services["governance_service"].verdicts(str(tmp_path / "out"))}


@REMOTE[0]
@REMOTE[1]
def test_a_restart_keeps_the_version_its_checkpoint_started_with(spark, parquet_batches, tmp_path, services):
    source = parquet_batches(SCHEMA, BATCHES[:2])
    first = run(spark, source, tmp_path, services, expected_contract_version="^1.0")
    assert first.details["contract_version"] == "1.0.0" and "contract_version_change" not in first.details
    publish(services, "1.1.0")
    parquet_batches(SCHEMA, BATCHES[2:], first=2)
    again = run(spark, source, tmp_path, services, expected_contract_version="^1.0")
    assert again.details["contract_version"] == "1.0.0"
    assert again.details["contract_version_change"]["used"] == "sales.orders@1.0.0"
    assert again.details["contract_version_change"]["selected"] == "sales.orders@1.1.0"
    assert judged_by(services, tmp_path) == {0: "1.0.0", 1: "1.0.0", 2: "1.0.0", 3: "1.0.0"}
    assert not any("upgraded" in w or "judged by" in w for w in again.warnings)


@pytest.mark.cluster
def test_an_upgrade_is_opted_into_said_and_then_kept(spark, parquet_batches, tmp_path, services):
    source = parquet_batches(SCHEMA, BATCHES[:2])
    run(spark, source, tmp_path, services)
    publish(services, "1.1.0")
    parquet_batches(SCHEMA, BATCHES[2:3], first=2)
    upgraded = run(spark, source, tmp_path, services, allow_contract_upgrade=True)
    assert upgraded.details["contract_version"] == "1.1.0"
    said = [w for w in upgraded.warnings if "from this restart on it is judged by sales.orders@1.1.0" in w]
    assert said and "sales.orders@1.0.0" in said[0]
    recorded = services["governance_service"].observations(str(tmp_path / "out"))[-1]
    assert recorded.contract_version == "1.1.0" and said[0] in recorded.warnings
    publish(services, "1.2.0")
    parquet_batches(SCHEMA, BATCHES[3:], first=3)
    run(spark, source, tmp_path, services)  # no opt-in this time: the upgrade is what the checkpoint keeps
    assert judged_by(services, tmp_path) == {0: "1.0.0", 1: "1.0.0", 2: "1.1.0", 3: "1.1.0"}


@REMOTE[0]
@REMOTE[1]
def test_a_selector_that_excludes_the_checkpoints_version_is_refused(spark, parquet_batches, tmp_path, services):
    source = parquet_batches(SCHEMA, BATCHES[:1])
    run(spark, source, tmp_path, services)
    publish(services, "2.0.0")
    before = {str(q.id) for q in spark.streams.active}
    with pytest.raises(InvalidArgumentError, match="sales.orders@1.0.0.*allow_contract_upgrade=True"):
        run(spark, source, tmp_path, services, expected_contract_version="==2.0.0")
    assert {str(q.id) for q in spark.streams.active} == before
