"""Observation writers: how a streaming write's micro-batches get measured.

Writers are single-use: :meth:`ObservationWriter.start` may be called once.
The bundled ``foreach-batch`` writer runs a dedicated query beside the sink
and measures each micro-batch with one aggregation.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from dc43.errors import Dc43Error
from dc43.spark.metrics import CompiledPlan
from dc43.spark.monitor import BatchMonitor


@attrs.frozen
class ObservationRequest:
    """Everything a writer needs to observe one streaming write."""

    df: Any  # the streaming DataFrame as given to the helper (before alignment)
    plan: CompiledPlan
    monitor: BatchMonitor
    checkpoint_location: str | None = None
    trigger: Mapping[str, Any] | None = None


class ObservationWriter:
    """Base class: start observing and return the queries started."""

    name = ""

    def __init__(self) -> None:
        self._started = False

    def start(self, request: ObservationRequest) -> list[Any]:
        if self._started:
            raise Dc43Error(
                f"observation writer '{self.name}' was already started; writers are single-use, "
                "create a new one for every streaming write"
            )
        self._started = True
        return self._start(request)

    def _start(self, request: ObservationRequest) -> list[Any]:
        raise NotImplementedError


class ForeachBatchObservationWriter(ObservationWriter):
    """A dedicated ``foreachBatch`` query computing every metric in one aggregation."""

    name = "foreach-batch"

    def _start(self, request: ObservationRequest) -> list[Any]:
        plan, monitor = request.plan, request.monitor

        def observe(batch_df: Any, batch_id: int) -> None:
            monitor.process(batch_id, plan.measure(batch_df))

        query_name = f"dc43_observations_{uuid.uuid4().hex[:8]}"
        writer = request.df.writeStream.queryName(query_name).foreachBatch(observe)
        if request.checkpoint_location:
            writer = writer.option("checkpointLocation", request.checkpoint_location)
        if request.trigger:
            writer = writer.trigger(**request.trigger)
        return [writer.start()]


def observation_checkpoint(sink_checkpoint: str | None) -> str | None:
    """The observation query's checkpoint: a sibling of the sink's, when it has one."""
    if not sink_checkpoint:
        return None
    return sink_checkpoint.rstrip("/") + "_dc43_observations"
