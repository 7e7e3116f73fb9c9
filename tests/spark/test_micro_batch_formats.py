"""Which formats can take the micro-batches the `inline` writer writes, and the early error
for those that cannot."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from dc43 import DatasetFormat, hookimpl
from dc43.errors import Dc43Error
from dc43.formats import DatasetTarget, UnsupportedOperationError
from dc43.plugins import get_plugin_manager
from dc43_integrations.spark.io import write_stream_with_contract

from tests.spark.orders import BATCHES, SCHEMA, stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect]


def active(spark) -> set[str]:
    return {str(q.id) for q in spark.streams.active}


class _Collecting(DatasetFormat):
    """Keeps every batch it is given as a JSON file named by batch id (a replay replaces it).

    Files, not memory: on Spark Connect the format writes from a process of the server's.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _keep(self, name: str, rows: list[tuple], mode: str | None = None) -> None:
        (self.folder / f"{name}.json").write_text(json.dumps({"rows": sorted(rows), "mode": mode}))

    def batches(self) -> dict[int, list[tuple]]:
        kept = {int(p.stem): json.loads(p.read_text()) for p in self.folder.glob("*.json")}
        return {n: [tuple(r) for r in kept[n]["rows"]] for n in sorted(kept)}

    def modes(self) -> list[str]:
        return [json.loads(p.read_text())["mode"] for p in sorted(self.folder.glob("*.json"))]


class OnlyMicroBatches(_Collecting):
    """Implements ``write_micro_batch`` and nothing else (no batch ``write``)."""

    name = "only-micro-batches"

    def write_micro_batch(self, df: Any, target: DatasetTarget, *, batch_id: int) -> None:
        self._keep(str(batch_id), [tuple(r) for r in df.collect()])


class OnlyBatchWrites(_Collecting):
    """Implements batch ``write`` only: micro-batches come through the default."""

    name = "only-batch-writes"

    def write(self, df: Any, target: DatasetTarget, *, mode: str) -> None:
        self._keep(str(len(list(self.folder.glob("*.json")))), [tuple(r) for r in df.collect()], mode)


def register(fmt: DatasetFormat) -> None:
    class Plugin:
        @hookimpl
        def dc43_dataset_formats(self) -> dict[str, Any]:
            return {fmt.name: fmt}

    get_plugin_manager().register(Plugin(), name=f"test-{fmt.name}")


def test_bundled_formats_say_whether_they_can_write_micro_batches():
    formats = {name: provided.value for name, provided in get_plugin_manager().formats().items()}
    able = sorted(name for name, fmt in formats.items() if fmt.supports_micro_batches())
    assert able == ["csv", "delta", "json", "kafka", "orc", "parquet"]
    assert not formats["memory"].supports_micro_batches() and not formats["rate"].supports_micro_batches()
    assert OnlyMicroBatches(Path()).supports_micro_batches() and not OnlyMicroBatches(Path()).supports("write")
    with pytest.raises(UnsupportedOperationError, match="format 'memory' does not support write"):
        formats["memory"].write_micro_batch(None, DatasetTarget(format="memory", dataset_id="x",
                                                                dataset_version="0"), batch_id=0)


def test_an_inline_write_to_a_format_that_cannot_write_batches_fails_before_any_query_starts(
        spark, source_stream, tmp_path, services):
    before = active(spark)
    with pytest.raises(Dc43Error) as raised:
        write_stream_with_contract(
            df=source_stream, contract_id="sales.orders", format="memory",
            options={"queryName": "never_started", "checkpointLocation": str(tmp_path / "cp")},
            observation_writer="inline", **services)
    message = str(raised.value)
    assert "format 'memory' cannot write batches (it supports: write_stream)" in message
    assert "observation_writer='inline' needs its sink to write micro-batches" in message
    assert ("Choose a sink format that supports batch writes (csv, delta, json, kafka, orc, parquet), "
            "or another observation writer (foreach-batch, observe)") in message
    assert active(spark) == before  # no query was started
    assert not (tmp_path / "cp").exists()
    recorded = [o.operation for o in services["governance_service"].observations()]
    assert recorded == ["read_stream"]  # the source's; the refused write recorded nothing


def test_a_rejection_sink_that_cannot_write_batches_fails_before_any_query_starts(
        spark, source_stream, tmp_path, services):
    before = active(spark)
    with pytest.raises(Dc43Error) as raised:
        write_stream_with_contract(
            df=source_stream, contract_id="sales.orders", format="parquet", path=str(tmp_path / "main"),
            options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline",
            rejection_sink={"format": "memory", "table": "rejected"}, **services)
    message = str(raised.value)
    assert "format 'memory' cannot write batches" in message
    assert "the rejection_sink needs to write micro-batches" in message
    assert "Choose a rejection_sink format that supports batch writes (csv, delta, json, kafka, orc, parquet)" in message
    assert active(spark) == before
    assert not (tmp_path / "main").exists() and not (tmp_path / "cp").exists()


@pytest.mark.parametrize("kind", [OnlyMicroBatches, OnlyBatchWrites], ids=lambda k: k.name)
def test_a_plugin_format_takes_every_judged_micro_batch_of_an_inline_write(
        spark, source_stream, tmp_path, services, kind):
    fmt = kind(tmp_path / "kept")
    fmt.folder.mkdir()
    register(fmt)
    result = write_stream_with_contract(
        df=source_stream, contract_id="sales.orders", format=fmt.name,
        options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline", enforce=False,
        **services)
    try:
        result.details["streaming_queries"][0].processAllAvailable()
    finally:
        stop_all(result)
    assert [e["batch_id"] for e in result.details["streaming_batches"]] == [0, 1, 2, 3]
    assert fmt.batches() == {n: sorted(rows) for n, rows in enumerate(BATCHES)}
    if kind is OnlyBatchWrites:
        assert fmt.modes() == ["append"] * 4  # the default appends through write()


def test_an_inline_write_appends_every_judged_batch_to_a_table(spark, source_stream, tmp_path, services):
    table = f"dc43_inline_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE TABLE {table} ({SCHEMA}) USING parquet LOCATION '{tmp_path / 'table'}'")
    try:
        result = write_stream_with_contract(
            df=source_stream, contract_id="sales.orders", format="parquet", table=table,
            options={"checkpointLocation": str(tmp_path / "cp")}, observation_writer="inline",
            enforce=False, **services)
        try:
            result.details["streaming_queries"][0].processAllAvailable()
        finally:
            stop_all(result)
        rows = sorted(tuple(r) for r in spark.table(table).collect())
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {table}")
    assert rows == sorted(row for batch in BATCHES for row in batch)
