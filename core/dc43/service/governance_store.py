"""Governance records in the service's database: what the local SQLite service keeps, shared.

Same methods as :class:`dc43.governance.LocalGovernanceService`, so the HTTP routes, the report
and ``dc43 verdicts`` use either. Every write is idempotent: a verdict replaces the one of the
same (dataset, version, query, batch id); an observation, alert or stale period is kept once per key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from dc43.governance.local import observation_from_row, request_from_row, verdict_from_row
from dc43.governance.rules import failed as failed_rule
from dc43.governance.service import BatchVerdict, MetricsRequest, SchemaObservation
from dc43.locators import utc_timestamp
from dc43.quality.plan import total_violations
from dc43.service import tables as t
from dc43.service.database import ServiceDatabase
from dc43.service.upserts import insert_once, upsert


def content_key(*parts: Any) -> str:
    """A digest of ``parts`` as canonical JSON: the same content always gets the same key."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _touch(connection: sa.Connection, dataset_id: str, dataset_version: str, contract_id: str,
           contract_version: str, when: str) -> None:
    upsert(connection, t.datasets, {"dataset_id": dataset_id, "first_seen": when, "last_seen": when},
           keys=["dataset_id"], update=["last_seen"])
    upsert(connection, t.dataset_versions,
           {"dataset_id": dataset_id, "dataset_version": dataset_version, "contract_id": contract_id,
            "contract_version": contract_version, "recorded_at": when},
           keys=["dataset_id", "dataset_version"], update=["contract_id", "contract_version"])


def _replace_failures(connection: sa.Connection, verdict: BatchVerdict) -> None:
    """The rules ``verdict``'s batch failed, in place of those of an earlier verdict of the batch."""
    f = t.rule_failures.c
    batch = {"dataset_id": verdict.dataset_id, "dataset_version": verdict.dataset_version,
             "query_id": verdict.query_id, "batch_id": verdict.batch_id}
    connection.execute(t.rule_failures.delete().where(*(f[name] == value for name, value in batch.items())))
    failed = {rule["key"]: rule.get("violations") for rule in verdict.rules if failed_rule(rule)}
    if failed:
        connection.execute(t.rule_failures.insert(), [
            {**batch, "rule_key": key, "violations": violations, "recorded_at": verdict.recorded_at}
            for key, violations in failed.items()])


class SQLGovernanceStore:
    """Governance records through SQLAlchemy: PostgreSQL or SQLite."""

    def __init__(self, database: ServiceDatabase) -> None:
        self.database = database
        self.engine = database.engine

    def __repr__(self) -> str:
        return f"SQLGovernanceStore({self.database.label!r})"

    def _rows(self, query: sa.Select) -> list[Mapping[str, Any]]:
        with self.engine.connect() as connection:
            return [row._mapping for row in connection.execute(query)]

    # -- recording -------------------------------------------------------
    def record_observation(self, observation: SchemaObservation, *, key: str | None = None) -> None:
        o = observation
        values = {"dataset_id": o.dataset_id, "dataset_version": o.dataset_version, "contract_id": o.contract_id,
                  "contract_version": o.contract_version, "operation": o.operation, "schema_json": _json(o.schema),
                  "status": o.status, "pipeline_context_json": _json(dict(o.pipeline_context)),
                  "recorded_at": o.recorded_at, "location_json": _json(dict(o.location)) if o.location else None,
                  "warnings_json": _json(list(o.warnings)) if o.warnings else None}
        with self.engine.begin() as connection:
            _touch(connection, o.dataset_id, o.dataset_version, o.contract_id, o.contract_version, o.recorded_at)
            insert_once(connection, t.observations, {**values, "key": key or content_key(values)}, keys=["key"])

    def record_verdict(self, verdict: BatchVerdict) -> None:
        v = verdict
        values = {"dataset_id": v.dataset_id, "dataset_version": v.dataset_version, "batch_id": v.batch_id,
                  "contract_id": v.contract_id, "contract_version": v.contract_version, "status": v.status,
                  "row_count": v.row_count, "violations": total_violations(v.metrics),
                  "metrics_json": _json(dict(v.metrics)), "reason": v.reason, "recorded_at": v.recorded_at,
                  "commit_json": _json(dict(v.commit)) if v.commit else None, "query_id": v.query_id,
                  "rules_json": _json([dict(r) for r in v.rules]) if v.rules else None}
        with self.engine.begin() as connection:
            _touch(connection, v.dataset_id, v.dataset_version, v.contract_id, v.contract_version, v.recorded_at)
            upsert(connection, t.batch_verdicts, values, keys=["dataset_id", "dataset_version", "query_id", "batch_id"],
                   update=["contract_id", "contract_version", "status", "row_count", "violations", "metrics_json",
                           "reason", "recorded_at", "rules_json"])
            _replace_failures(connection, v)

    def record_commit(self, dataset_id: str, dataset_version: str, batch_id: int, commit: Any,
                      query_id: str = "") -> None:
        """Keep what a judged batch's write committed with its verdict (that of ``query_id``; with ``""``,
        the batch's verdict whatever query judged it)."""
        v = t.batch_verdicts.c
        query = [v.query_id == query_id] if query_id else []
        with self.engine.begin() as connection:
            connection.execute(t.batch_verdicts.update().where(
                v.dataset_id == dataset_id, v.dataset_version == dataset_version, v.batch_id == batch_id, *query)
                .values(commit_json=_json(dict(commit))))

    def record_alert(self, alert: Mapping[str, Any], delivered: Mapping[str, bool], *, key: str | None = None,
                     recorded_at: str | None = None) -> None:
        """Keep an alert and whether each notifier sent it (once per key: the alert's content by default)."""
        values = {"dataset_id": alert["dataset_id"], "alert_json": _json(dict(alert)),
                  "delivered_json": _json(dict(delivered)), "recorded_at": recorded_at or utc_timestamp()}
        with self.engine.begin() as connection:
            insert_once(connection, t.alerts, {**values, "key": key or content_key(dict(alert))}, keys=["key"])

    def alerts(self, dataset_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` alerts of ``dataset_id`` (all when None), oldest first, each with ``delivered``."""
        a = t.alerts.c
        rows = self._rows(sa.select(t.alerts).where(a.dataset_id == dataset_id).order_by(a.id.desc()).limit(limit))
        return [{**json.loads(r["alert_json"]), "delivered": json.loads(r["delivered_json"])} for r in rows[::-1]]

    def record_stale(self, period: Mapping[str, Any], *, key: str | None = None) -> int:
        """Record that a stream went stale; returns the period's id (the same id for the same period again)."""
        key = key or content_key(period["dataset_id"], period["since"], period["detected_at"])
        values = {"key": key, "dataset_id": period["dataset_id"], "since": period["since"],
                  "detected_at": period["detected_at"], "last_batch_id": period.get("last_batch_id"),
                  "frequency_s": period["frequency_s"]}
        with self.engine.begin() as connection:
            insert_once(connection, t.stale_periods, values, keys=["key"])
            return connection.execute(sa.select(t.stale_periods.c.id).where(t.stale_periods.c.key == key)).scalar_one()

    def end_stale(self, period_id: int, ended_at: str) -> None:
        """The stream delivered again (or stopped): the stale period ends (its first end is kept)."""
        s = t.stale_periods.c
        with self.engine.begin() as connection:
            connection.execute(t.stale_periods.update().where(s.id == period_id, s.ended_at.is_(None))
                               .values(ended_at=ended_at))

    def stale_periods(self, dataset_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` stale periods of ``dataset_id`` (all when None), oldest first."""
        s = t.stale_periods.c
        rows = self._rows(sa.select(*[c for c in t.stale_periods.c if c.name != "key"])
                          .where(s.dataset_id == dataset_id).order_by(s.id.desc()).limit(limit))
        return [dict(r) for r in rows[::-1]]

    # -- queries ---------------------------------------------------------
    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset with when it was first and last seen."""
        return [dict(r) for r in self._rows(sa.select(t.datasets).order_by(t.datasets.c.dataset_id))]

    def dataset_versions(self, dataset_id: str) -> list[dict[str, Any]]:
        """The versions of ``dataset_id`` and the contract each is linked to."""
        v = t.dataset_versions.c
        return [dict(r) for r in self._rows(sa.select(t.dataset_versions).where(v.dataset_id == dataset_id)
                                            .order_by(v.recorded_at, v.dataset_version))]

    def observations(self, dataset_id: str | None = None) -> list[SchemaObservation]:
        query = sa.select(t.observations).order_by(t.observations.c.id)
        if dataset_id is not None:
            query = query.where(t.observations.c.dataset_id == dataset_id)
        return [observation_from_row(r) for r in self._rows(query)]

    def _verdict_query(self, dataset_id: str, dataset_version: str | None) -> sa.Select:
        v = t.batch_verdicts.c
        query = sa.select(t.batch_verdicts).where(v.dataset_id == dataset_id)
        return query if dataset_version is None else query.where(v.dataset_version == dataset_version)

    def verdicts(self, dataset_id: str, dataset_version: str | None = None, *,
                 limit: int | None = None, offset: int = 0) -> list[BatchVerdict]:
        """Verdicts of ``dataset_id`` (optionally one version), oldest first, paged."""
        v = t.batch_verdicts.c
        query = self._verdict_query(dataset_id, dataset_version).order_by(v.recorded_at, v.batch_id)
        return [verdict_from_row(r) for r in self._rows(query.limit(limit).offset(offset))]

    def latest_verdict(self, dataset_id: str, dataset_version: str | None = None) -> BatchVerdict | None:
        """The most recently recorded verdict of ``dataset_id`` (and version), if any."""
        v = t.batch_verdicts.c
        rows = self._rows(self._verdict_query(dataset_id, dataset_version)
                          .order_by(v.recorded_at.desc(), v.batch_id.desc()).limit(1))
        return verdict_from_row(rows[0]) if rows else None

    def link_contract(self, dataset_id: str, dataset_version: str, contract_id: str, contract_version: str) -> None:
        """Link a dataset version to the contract it follows."""
        with self.engine.begin() as connection:
            _touch(connection, dataset_id, dataset_version, contract_id, contract_version, utc_timestamp())

    def contract_link(self, dataset_id: str, dataset_version: str | None = None) -> tuple[str, str] | None:
        """The (contract id, version) a dataset version (default: its newest) is linked to."""
        v = t.dataset_versions.c
        query = sa.select(v.contract_id, v.contract_version).where(v.dataset_id == dataset_id)
        if dataset_version is not None:
            query = query.where(v.dataset_version == dataset_version)
        rows = self._rows(query.order_by(v.recorded_at.desc()).limit(1))
        return (rows[0]["contract_id"], rows[0]["contract_version"]) if rows else None

    # -- metric requests -------------------------------------------------
    def save_metrics_request(self, request: MetricsRequest) -> None:
        """Insert or update the state of an asynchronous metric computation."""
        r = request
        values = {"request_id": r.request_id, "dataset_id": r.dataset_id, "dataset_version": r.dataset_version,
                  "state": r.state, "status": r.status, "metrics_json": _json(dict(r.metrics)) if r.metrics is not None
                  else None, "error": r.error, "requested_at": r.requested_at, "finished_at": r.finished_at}
        with self.engine.begin() as connection:
            upsert(connection, t.metric_requests, values, keys=["request_id"],
                   update=["state", "status", "metrics_json", "error", "finished_at"])

    def metrics_request(self, request_id: str) -> MetricsRequest | None:
        rows = self._rows(sa.select(t.metric_requests).where(t.metric_requests.c.request_id == request_id))
        return request_from_row(rows[0]) if rows else None
