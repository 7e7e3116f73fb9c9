"""The plugin guide's observation-writer example, run as a plugin on every topology."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from dc43.plugins import get_plugin_manager

from tests.spark.orders import start_write, stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def guide_writer() -> types.ModuleType:
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
                if "dc43_observation_writers" in b]
    module = types.ModuleType("guide_writer")
    exec(compile(block, str(GUIDE), "exec"), module.__dict__)
    return module


def test_the_guides_writer_judges_every_other_micro_batch(spark, source_stream, tmp_path, services):
    get_plugin_manager().register(guide_writer(), name="guide_writer")
    seen: list[int] = []
    result, sink = start_write(source_stream, tmp_path, services, enforce=False, observation_writer="every-other",
                               on_streaming_batch=lambda entry: seen.append(entry["batch_id"]))
    try:
        for query in result.details["streaming_queries"]:
            query.processAllAvailable()
    finally:
        stop_all(result)
    assert [(e["batch_id"], e["row_count"], e["status"]) for e in result.details["streaming_batches"]] == [
        (0, 2, "ok"), (2, 2, "block")]
    assert seen == [0, 2]
    assert [v.batch_id for v in services["governance_service"].verdicts("sales.orders")] == [0, 2]
    assert spark.table(sink).count() == 8
