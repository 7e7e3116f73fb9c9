"""The local governance service, persisted in SQLite (the embedded default).

It records datasets, their versions and the contract each version is linked
to, schema observations with the pipeline activity behind them, and every
micro-batch verdict keyed by (dataset id, dataset version, query id, batch id): a batch
replayed after a restart updates its row instead of adding one; and the alerts
streaming writes sent (:mod:`dc43.alerts`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dc43.governance.database import Database
from dc43.governance.service import BatchVerdict, MetricsRequest, SchemaObservation
from dc43.locators import utc_timestamp
from dc43.quality.plan import total_violations

#: with ``keep_verdicts``, old verdicts are pruned after this many new ones
PRUNE_EVERY = 50


def verdict_from_row(row: Any) -> BatchVerdict:
    return BatchVerdict(
        dataset_id=row["dataset_id"], dataset_version=row["dataset_version"],
        batch_id=row["batch_id"], contract_id=row["contract_id"],
        contract_version=row["contract_version"], status=row["status"],
        row_count=row["row_count"], metrics=json.loads(row["metrics_json"]),
        reason=row["reason"], recorded_at=row["recorded_at"],
        commit=json.loads(row["commit_json"]) if row["commit_json"] else None, query_id=row["query_id"],
        rules=json.loads(row["rules_json"]) if row["rules_json"] else (),
    )


def observation_from_row(row: Any) -> SchemaObservation:
    return SchemaObservation(
        dataset_id=row["dataset_id"], dataset_version=row["dataset_version"],
        contract_id=row["contract_id"], contract_version=row["contract_version"],
        operation=row["operation"],
        schema=json.loads(row["schema_json"]) if row["schema_json"] else None,
        status=row["status"], pipeline_context=json.loads(row["pipeline_context_json"]),
        recorded_at=row["recorded_at"],
        location=json.loads(row["location_json"]) if row["location_json"] else None,
        warnings=tuple(json.loads(row["warnings_json"])) if row["warnings_json"] else (),
    )


def request_from_row(row: Any) -> MetricsRequest:
    return MetricsRequest(
        request_id=row["request_id"], dataset_id=row["dataset_id"],
        dataset_version=row["dataset_version"], state=row["state"], status=row["status"],
        metrics=json.loads(row["metrics_json"]) if row["metrics_json"] else None,
        error=row["error"], requested_at=row["requested_at"], finished_at=row["finished_at"],
    )


def _touch(conn: Any, dataset_id: str, dataset_version: str, contract_id: str,
           contract_version: str, when: str) -> None:
    conn.execute(
        "INSERT INTO datasets VALUES (?, ?, ?) "
        "ON CONFLICT(dataset_id) DO UPDATE SET last_seen = excluded.last_seen",
        (dataset_id, when, when))
    conn.execute(
        "INSERT INTO dataset_versions VALUES (?, ?, ?, ?, ?) ON CONFLICT(dataset_id, dataset_version) "
        "DO UPDATE SET contract_id = excluded.contract_id, contract_version = excluded.contract_version",
        (dataset_id, dataset_version, contract_id, contract_version, when))


class LocalGovernanceService:
    """Governance records in a SQLite file; ``path=None`` keeps them in memory.

    ``keep_verdicts`` bounds the verdicts kept per dataset (the newest; setting
    ``keep_verdicts`` in ``dc43.toml`` or ``DC43_KEEP_VERDICTS`` for the default service).

    Safe to share between streaming queries of one process and between
    processes using the same file.
    """

    def __init__(self, path: str | Path | None = None, *, keep_verdicts: int | None = None) -> None:
        self.path = Path(path).resolve() if path is not None else None
        self.keep_verdicts = keep_verdicts
        self.db = Database(self.path)
        self._since_prune: dict[str, int] = {}  # new verdicts per dataset since its last pruning

    def __repr__(self) -> str:
        return f"LocalGovernanceService({self.db.label!r})"

    def __reduce__(self) -> Any:
        """Pickled as its file (a copy in another process opens the same database)."""
        if self.path is None:
            raise TypeError(
                "LocalGovernanceService() without a path keeps its records in this process's memory, "
                "where another process cannot write them; give it a file both can reach, "
                "LocalGovernanceService('/shared/governance.db')")
        return functools.partial(LocalGovernanceService, keep_verdicts=self.keep_verdicts), (self.path,)

    # -- recording -------------------------------------------------------
    def record_observation(self, observation: SchemaObservation) -> None:
        o = observation

        def write(conn: Any) -> None:
            _touch(conn, o.dataset_id, o.dataset_version, o.contract_id, o.contract_version,
                   o.recorded_at)
            conn.execute(
                "INSERT INTO observations (dataset_id, dataset_version, contract_id, contract_version, "
                "operation, schema_json, status, pipeline_context_json, recorded_at, location_json, warnings_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (o.dataset_id, o.dataset_version, o.contract_id, o.contract_version, o.operation,
                 json.dumps(o.schema) if o.schema is not None else None, o.status,
                 json.dumps(dict(o.pipeline_context), default=str), o.recorded_at,
                 json.dumps(dict(o.location)) if o.location else None,
                 json.dumps(list(o.warnings)) if o.warnings else None))

        self.db.write(write)

    def record_verdict(self, verdict: BatchVerdict) -> None:
        v = verdict

        def write(conn: Any) -> None:
            _touch(conn, v.dataset_id, v.dataset_version, v.contract_id, v.contract_version,
                   v.recorded_at)
            conn.execute(
                "INSERT INTO batch_verdicts (dataset_id, dataset_version, query_id, batch_id, contract_id, "
                "contract_version, status, row_count, violations, metrics_json, reason, recorded_at, commit_json, "
                "rules_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(dataset_id, dataset_version, query_id, batch_id) DO UPDATE SET "
                "contract_id = excluded.contract_id, contract_version = excluded.contract_version, "
                "status = excluded.status, row_count = excluded.row_count, "
                "violations = excluded.violations, metrics_json = excluded.metrics_json, "
                "reason = excluded.reason, recorded_at = excluded.recorded_at, rules_json = excluded.rules_json",
                (v.dataset_id, v.dataset_version, v.query_id, v.batch_id, v.contract_id, v.contract_version,
                 v.status, v.row_count, total_violations(v.metrics), json.dumps(dict(v.metrics)),
                 v.reason, v.recorded_at, json.dumps(dict(v.commit)) if v.commit else None,
                 json.dumps([dict(r) for r in v.rules], default=str) if v.rules else None))

        self.db.write(write)
        if self.keep_verdicts:
            count = self._since_prune.get(v.dataset_id, 0) + 1
            self._since_prune[v.dataset_id] = 0 if count >= PRUNE_EVERY else count
            if count >= PRUNE_EVERY:
                self.prune(v.dataset_id)

    def record_commit(self, dataset_id: str, dataset_version: str, batch_id: int, commit: Any,
                      query_id: str = "") -> None:
        """Keep what a judged batch's write committed (``{"sink": {"delta_version": 7}}``) with its verdict
        (that of ``query_id``; with ``""``, the batch's verdict whatever query judged it)."""
        self.db.write(lambda conn: conn.execute(
            "UPDATE batch_verdicts SET commit_json = ? WHERE dataset_id = ? AND dataset_version = ? AND batch_id = ? "
            "AND (query_id = ? OR ? = '')",
            (json.dumps(dict(commit)), dataset_id, dataset_version, batch_id, query_id, query_id)))

    def record_alert(self, alert: Mapping[str, Any], delivered: Mapping[str, bool]) -> None:
        """Keep an alert (:meth:`dc43.alerts.Alert.to_dict`) and whether each notifier sent it."""
        self.db.write(lambda conn: conn.execute(
            "INSERT INTO alerts (dataset_id, alert_json, delivered_json, recorded_at) VALUES (?, ?, ?, ?)",
            (alert["dataset_id"], json.dumps(dict(alert), default=str), json.dumps(dict(delivered)), utc_timestamp())))

    def alerts(self, dataset_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` alerts of ``dataset_id`` (all when None), oldest first, each with ``delivered``."""
        rows = self.db.rows("SELECT * FROM alerts WHERE dataset_id = ? ORDER BY id DESC LIMIT ?",
                            (dataset_id, -1 if limit is None else limit))
        return [{**json.loads(r["alert_json"]), "delivered": json.loads(r["delivered_json"])} for r in rows[::-1]]

    def record_stale(self, period: Mapping[str, Any]) -> int:
        """Record that a stream went stale (:mod:`dc43.freshness`); returns the period's id."""
        return self.db.write(lambda conn: conn.execute(
            "INSERT INTO stale_periods (dataset_id, since, detected_at, last_batch_id, frequency_s) "
            "VALUES (?, ?, ?, ?, ?)", (period["dataset_id"], period["since"], period["detected_at"],
                                        period["last_batch_id"], period["frequency_s"])).lastrowid)

    def end_stale(self, period_id: int, ended_at: str) -> None:
        """The stream delivered again (or stopped): the stale period ends."""
        self.db.write(lambda conn: conn.execute("UPDATE stale_periods SET ended_at = ? WHERE id = ?",
                                                (ended_at, period_id)))

    def stale_periods(self, dataset_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` stale periods of ``dataset_id`` (all when None), oldest first;
        ``ended_at`` is None while the stream is still stale."""
        rows = self.db.rows("SELECT * FROM stale_periods WHERE dataset_id = ? ORDER BY id DESC LIMIT ?",
                            (dataset_id, -1 if limit is None else limit))
        return [dict(r) for r in rows[::-1]]

    def prune(self, dataset_id: str) -> int:
        """Delete the verdicts of ``dataset_id`` beyond the newest ``keep_verdicts``; returns how many."""
        if not self.keep_verdicts:
            return 0
        return self.db.write(lambda conn: conn.execute(
            "DELETE FROM batch_verdicts WHERE dataset_id = ? AND rowid NOT IN (SELECT rowid FROM batch_verdicts "
            "WHERE dataset_id = ? ORDER BY recorded_at DESC, batch_id DESC LIMIT ?)",
            (dataset_id, dataset_id, self.keep_verdicts)).rowcount)

    # -- queries ---------------------------------------------------------
    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset with when it was first and last seen."""
        return [dict(r) for r in self.db.rows("SELECT * FROM datasets ORDER BY dataset_id")]

    def dataset_versions(self, dataset_id: str) -> list[dict[str, Any]]:
        """The versions of ``dataset_id`` and the contract each is linked to."""
        return [dict(r) for r in self.db.rows(
            "SELECT * FROM dataset_versions WHERE dataset_id = ? ORDER BY recorded_at, dataset_version",
            (dataset_id,))]

    def observations(self, dataset_id: str | None = None) -> list[SchemaObservation]:
        if dataset_id is None:
            rows = self.db.rows("SELECT * FROM observations ORDER BY id")
        else:
            rows = self.db.rows("SELECT * FROM observations WHERE dataset_id = ? ORDER BY id",
                                (dataset_id,))
        return [observation_from_row(r) for r in rows]

    def verdicts(self, dataset_id: str, dataset_version: str | None = None, *,
                 limit: int | None = None, offset: int = 0) -> list[BatchVerdict]:
        """Verdicts of ``dataset_id`` (optionally one version), oldest first, paged."""
        sql = "SELECT * FROM batch_verdicts WHERE dataset_id = ?"
        params: list[Any] = [dataset_id]
        if dataset_version is not None:
            sql += " AND dataset_version = ?"
            params.append(dataset_version)
        sql += " ORDER BY recorded_at, batch_id LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        return [verdict_from_row(r) for r in self.db.rows(sql, params)]

    def latest_verdict(self, dataset_id: str, dataset_version: str | None = None) -> BatchVerdict | None:
        """The most recently recorded verdict of ``dataset_id`` (and version), if any."""
        sql = "SELECT * FROM batch_verdicts WHERE dataset_id = ?"
        params: list[Any] = [dataset_id]
        if dataset_version is not None:
            sql += " AND dataset_version = ?"
            params.append(dataset_version)
        rows = self.db.rows(sql + " ORDER BY recorded_at DESC, batch_id DESC LIMIT 1", params)
        return verdict_from_row(rows[0]) if rows else None

    def link_contract(self, dataset_id: str, dataset_version: str, contract_id: str, contract_version: str) -> None:
        """Link a dataset version to the contract it follows (recording it does too)."""
        self.db.write(lambda conn: _touch(conn, dataset_id, dataset_version, contract_id, contract_version,
                                          utc_timestamp()))

    def contract_link(self, dataset_id: str, dataset_version: str | None = None) -> tuple[str, str] | None:
        """The (contract id, version) a dataset version (default: its newest) is linked to."""
        sql = "SELECT contract_id, contract_version FROM dataset_versions WHERE dataset_id = ?"
        params: list[Any] = [dataset_id]
        if dataset_version is not None:
            sql += " AND dataset_version = ?"
            params.append(dataset_version)
        rows = self.db.rows(sql + " ORDER BY recorded_at DESC LIMIT 1", params)
        return (rows[0][0], rows[0][1]) if rows else None

    # -- metric requests -------------------------------------------------
    def save_metrics_request(self, request: MetricsRequest) -> None:
        """Insert or update the state of an asynchronous metric computation."""
        r = request
        self.db.write(lambda conn: conn.execute(
            "INSERT INTO metric_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(request_id) DO UPDATE SET state = excluded.state, status = excluded.status, "
            "metrics_json = excluded.metrics_json, error = excluded.error, "
            "finished_at = excluded.finished_at",
            (r.request_id, r.dataset_id, r.dataset_version, r.state, r.status,
             json.dumps(dict(r.metrics)) if r.metrics is not None else None, r.error,
             r.requested_at, r.finished_at)))

    def request_metrics(self, *, spark: Any, dataset_id: str, dataset_version: str, **kwargs: Any) -> Any:
        """Measure a stored snapshot in the background (see :mod:`dc43.spark.monitoring`)."""
        from dc43.spark.monitoring import request_metrics

        return request_metrics(spark=spark, dataset_id=dataset_id, dataset_version=dataset_version,
                               governance_service=self, **kwargs)

    def metrics_request(self, request_id: str) -> MetricsRequest | None:
        rows = self.db.rows("SELECT * FROM metric_requests WHERE request_id = ?", (request_id,))
        return request_from_row(rows[0]) if rows else None
