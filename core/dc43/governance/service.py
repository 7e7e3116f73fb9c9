"""Governance service protocol and the local, in-process implementation."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

import attrs


@attrs.frozen
class SchemaObservation:
    """A schema seen when a dataset was read or written under a contract."""

    dataset_id: str
    dataset_version: str
    contract_id: str
    contract_version: str
    operation: str
    schema: Mapping[str, Any] | None
    status: str
    pipeline_context: Mapping[str, Any]
    recorded_at: str


@attrs.frozen
class BatchVerdict:
    """The verdict of one micro-batch (or one batch write), keyed by batch id."""

    dataset_id: str
    dataset_version: str
    batch_id: int
    contract_id: str
    contract_version: str
    status: str
    row_count: int
    metrics: Mapping[str, Any]
    reason: str | None
    recorded_at: str


class GovernanceService(Protocol):
    def record_observation(self, observation: SchemaObservation) -> None: ...

    def record_verdict(self, verdict: BatchVerdict) -> None: ...


class LocalGovernanceService:
    """Keeps observations and verdicts in memory; safe to share between queries.

    A verdict for an already recorded (dataset id, version, batch id) replaces
    the earlier one, so replayed micro-batches are not counted twice.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._observations: list[SchemaObservation] = []
        self._verdicts: dict[tuple[str, str, int], BatchVerdict] = {}

    def record_observation(self, observation: SchemaObservation) -> None:
        with self._lock:
            self._observations.append(observation)

    def record_verdict(self, verdict: BatchVerdict) -> None:
        with self._lock:
            self._verdicts[(verdict.dataset_id, verdict.dataset_version, verdict.batch_id)] = verdict

    def observations(self, dataset_id: str | None = None) -> list[SchemaObservation]:
        with self._lock:
            return [o for o in self._observations if dataset_id in (None, o.dataset_id)]

    def verdicts(self, dataset_id: str, dataset_version: str | None = None) -> list[BatchVerdict]:
        with self._lock:
            found = [v for v in self._verdicts.values() if v.dataset_id == dataset_id
                     and dataset_version in (None, v.dataset_version)]
        return sorted(found, key=lambda v: (v.recorded_at, v.batch_id))

    def latest_verdict(self, dataset_id: str, dataset_version: str | None = None) -> BatchVerdict | None:
        found = self.verdicts(dataset_id, dataset_version)
        return found[-1] if found else None
