"""Volume over time, where the micro-batches are judged (:mod:`dc43.quality.volume`).

:meth:`VolumeHistory.measure` turns a judged batch's row count into the volume rules'
metrics, from the query's :class:`~dc43.volume_index.VolumeIndex`, at the time of judging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dc43.quality.volume as volume
from dc43.quality.plan import ROW_COUNT, Expectation
from dc43.volume_index import VolumeIndex


class VolumeHistory:
    """The volume rules of one write and where their counts live; picklable.

    ``at(checkpoint)`` gives the copy a query uses, its file named like the key history's.
    """

    def __init__(self, rules: Sequence[Expectation], *, state_dir: Path, dataset_id: str,
                 checkpoint: str | None = None) -> None:
        self.rules = tuple(rules)
        self.state_dir = state_dir
        self.dataset_id = dataset_id
        self.checkpoint = checkpoint
        self._index: VolumeIndex | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_index": None}  # a connection belongs to the process that opened it

    def at(self, checkpoint: str | None) -> VolumeHistory:
        return VolumeHistory(self.rules, state_dir=self.state_dir, dataset_id=self.dataset_id, checkpoint=checkpoint)

    def open(self, spark: Any, query_id: str | None = None) -> VolumeIndex:
        """The index, opened once: named by ``query_id``, or the query's id read through ``spark``."""
        if self._index is None:
            from dc43.spark.checkpoints import query_state

            self._index = VolumeIndex(query_state(spark, self.state_dir, "volumes", self.dataset_id, self.checkpoint,
                                                  query_id))
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
