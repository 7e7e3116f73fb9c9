"""Volume over time, where the micro-batches are judged (:mod:`dc43.quality.volume`).

:meth:`VolumeHistory.measure` turns a judged batch's row count into the volume rules'
metrics, from the query's :class:`~dc43.volume_index.VolumeIndex`, at the time of judging.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dc43.quality.volume as volume
from dc43.quality.plan import ROW_COUNT, Expectation
from dc43.spark.checkpoints import QueryHistory
from dc43.volume_index import VolumeIndex


class VolumeHistory(QueryHistory):
    """The volume rules of one write and where their counts live (named like the key history's); picklable."""

    kind = "volumes"
    rules: tuple[Expectation, ...]

    def open(self, spark: Any, query_id: str | None = None) -> VolumeIndex:
        """The index, opened once: named by ``query_id``, or the query's id read through ``spark``."""
        if self._index is None:
            self._index = VolumeIndex(self._file(spark, query_id))
        return self._index

    def measure(self, spark: Any, batch_id: int, metrics: Mapping[str, Any], now: int) -> dict[str, Any]:
        """``metrics`` of a non-empty batch judged at ``now`` (microseconds), with the volume rules'."""
        windows = {rule.key: int(rule.params["window"] * 1_000_000) for rule in self.rules if "window" in rule.params}
        history = max((rule.params["history"] for rule in self.rules if rule.rule == volume.CHANGE), default=0)
        found = self.open(spark).count(batch_id, int(metrics[ROW_COUNT]), now, windows=sorted(set(windows.values())),
                                       history=history)
        measured = dict(metrics)
        for rule in self.rules:
            if rule.rule == volume.MAX:
                measured[rule.metric] = found["open"][windows[rule.key]]
            elif rule.rule == volume.MIN:
                measured[rule.metric] = found["closed"][windows[rule.key]]
            else:
                measured[rule.metric] = found["change"]
        return measured
