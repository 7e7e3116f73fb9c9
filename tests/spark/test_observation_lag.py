"""How far the default writer's sink runs ahead of the judging: reported, and bounded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from dc43.errors import ObservationLagError
from dc43.quality import LocalDataQualityService

from tests.spark.orders import SCHEMA, start_write, stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]


class HeldQuality(LocalDataQualityService):
    """Judges no batch until the file ``release`` exists, as a remote service stuck under load
    would (the schema alone, at the write's start, it answers at once); it runs where the batch
    side runs (the Connect server's worker too), so the test releases it through a file."""

    def __init__(self, release: Path) -> None:
        self.release = release

    def evaluate(self, *, contract: Any, payload: Any) -> Any:
        deadline = time.monotonic() + 180  # a guard: the test releases it long before
        while payload.metrics and not self.release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return super().evaluate(contract=contract, payload=payload)


def orders(parquet_batches: Any, count: int) -> str:
    return parquet_batches(SCHEMA, [[(n, "ann", 1.0, "EUR")] for n in range(count)])


def stream(spark: Any, source: str, services: dict[str, Any]) -> Any:
    from dc43_integrations.spark.io import read_stream_with_contract

    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet", path=source,
                                      options={"maxFilesPerTrigger": "1"}, **services)
    return df


def test_the_lag_is_reported(spark, parquet_batches, tmp_path, services):
    result, _ = start_write(stream(spark, orders(parquet_batches, 4), services), tmp_path, services, enforce=False)
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
        assert result.details["streaming_monitor"].wait_for_batch(3, timeout=60)
    finally:
        stop_all(result)
    lag = result.details["observation_lag"]
    assert lag["sink_batch"] <= 3 and lag["behind"] == max(0, lag["sink_batch"] - lag["judged_batch"])


def test_a_sink_too_far_ahead_of_the_judging_is_stopped(spark, parquet_batches, tmp_path, services, topology):
    release = tmp_path / "release"
    services["data_quality_service"] = HeldQuality(release)
    result, _ = start_write(stream(spark, orders(parquet_batches, 16), services), tmp_path, services,
                            enforce=False, max_observation_lag=2)
    sink, observer = result.details["streaming_queries"]
    try:
        # The first batch's judging is held. On Spark Connect the lag is checked as the caller
        # hears of each sink batch: held until that stopped the write (released earlier, the
        # judging could catch up before a delayed event is heard). Elsewhere it is checked as
        # batches are judged: held until the sink is 5 batches on.
        deadline = time.monotonic() + 120
        while (sink.isActive and (topology == "connect" or (sink.lastProgress or {}).get("batchId", -1) < 5)
               and time.monotonic() < deadline):
            time.sleep(0.05)
        release.touch()
        with pytest.raises(ObservationLagError, match="micro-batches ahead of the judged ones.*max_observation_lag=2"):
            sink.awaitTermination(120)
        assert observer.spark_query.awaitTermination(60) and not observer.isActive
    finally:
        stop_all(result)
    assert result.details["observation_lag"]["behind"] > 2
    assert "ObservationLagError" in result.details["streaming_error"]
