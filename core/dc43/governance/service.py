"""What governance records: schema observations and batch verdicts, and its protocol."""

from __future__ import annotations

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
    location: Mapping[str, Any] | None = None  # format, path, table: never options
    warnings: tuple[str, ...] = ()  # schema warnings and what loading the contract found wrong


def observation_from(data: Mapping[str, Any]) -> SchemaObservation:
    """A :class:`SchemaObservation` from its ``attrs.asdict`` form (as kept in an outbox)."""
    return SchemaObservation(**{**data, "warnings": tuple(data.get("warnings") or ())})


@attrs.frozen
class BatchVerdict:
    """The verdict of one micro-batch (or one batch write), keyed by dataset, version, query and
    batch id: a replayed batch replaces its verdict, another query's batch of the same id does not."""

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
    #: what the batch's write committed, when its format says (``{"sink": {"delta_version": 7}}``)
    commit: Mapping[str, Any] | None = None
    #: the streaming query that judged it (its id in the checkpoint, kept across restarts); "" for batch writes
    query_id: str = ""
    #: each rule's outcome (:func:`dc43.results.rule_results`): key, rule, column, severity, passed, violations
    rules: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen
class MetricsRequest:
    """The state of an asynchronous metric computation on a dataset snapshot."""

    request_id: str
    dataset_id: str
    dataset_version: str
    state: str  # pending, running, done, failed
    status: str | None = None
    metrics: Mapping[str, Any] | None = None
    error: str | None = None
    requested_at: str = ""
    finished_at: str | None = None


class GovernanceService(Protocol):
    def record_observation(self, observation: SchemaObservation) -> None: ...

    def record_verdict(self, verdict: BatchVerdict) -> None: ...

    # optional: record_commit(dataset_id, dataset_version, batch_id, commit, query_id="") keeps what a judged
    # batch's write committed (a table version) with its verdict
