"""What the service's pages show, read from its database (service side).

Every figure is an indexed query bounded by what a page shows, never a scan of a dataset's
whole history in Python: the overview reads the newest :data:`SPARK_POINTS` verdicts of each
dataset, a dataset page its newest :data:`WINDOW`, and the per-rule breakdown aggregates
``rule_failures``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from dc43.contracts.versions import sort_versions
from dc43.errors import NotFoundError
from dc43.governance.local import observation_from_row, verdict_from_row
from dc43.governance.rules import RuleFailure, RuleSummary, counts_rows
from dc43.governance.service import BatchVerdict, SchemaObservation
from dc43.service import tables as t
from dc43.service.database import ServiceDatabase

SPARK_POINTS = 30
WINDOW = 500
TABLE_ROWS = 100
RECENT = 20
#: worst first: the order of the overview
SEVERITY = {"block": 0, "stale": 1, "warn": 2, "unknown": 3, "ok": 4}


@attrs.frozen
class DatasetHealth:
    """One overview row: a dataset's status now and its recent batches."""

    dataset_id: str
    status: str
    contract_id: str | None
    contract_version: str | None
    last_batch_id: int | None
    last_batch_at: str | None
    rows_per_minute: float | None
    spark: tuple[tuple[int, int, str], ...]  # (batch id, violations, status), oldest first
    stale_since: str | None


@attrs.frozen
class QueryFed:
    """A streaming query that wrote a dataset: how many batches it had judged and when."""

    query_id: str
    batches: int
    first_at: str
    last_at: str
    last_batch_id: int


@attrs.frozen
class DatasetPage:
    """Everything a dataset's page shows."""

    dataset_id: str
    first_seen: str
    last_seen: str
    status: str
    total: int
    window: tuple[BatchVerdict, ...]  # the newest WINDOW verdicts, oldest first
    table: tuple[BatchVerdict, ...]  # the batch table: newest first (those that broke ``rule`` if given)
    rule: str | None
    rules: tuple[RuleSummary, ...]
    stale: tuple[dict[str, Any], ...]
    alerts: tuple[dict[str, Any], ...]
    observations: tuple[SchemaObservation, ...]
    queries: tuple[QueryFed, ...]
    versions: tuple[dict[str, Any], ...]
    inputs: tuple[tuple[str, bool], ...]  # what its newest write read (lineage), and whether dc43 keeps it


@attrs.frozen
class ContractVersion:
    """One version of a contract as the service keeps it, and the datasets linked to it."""

    version: str
    status: str
    recorded_at: str
    datasets: tuple[str, ...]


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def rows_per_minute(verdicts: Sequence[Mapping[str, Any]]) -> float | None:
    """Rows a minute over ``verdicts`` (oldest first): the rows after the first over the time they
    took; None with fewer than two batches or no time between them."""
    if len(verdicts) < 2:
        return None
    seconds = (_when(verdicts[-1]["recorded_at"]) - _when(verdicts[0]["recorded_at"])).total_seconds()
    return sum(v["row_count"] for v in verdicts[1:]) * 60 / seconds if seconds > 0 else None


class Views:
    """The pages' queries over one service database."""

    def __init__(self, database: ServiceDatabase) -> None:
        self.engine = database.engine

    def _rows(self, connection: sa.Connection, query: sa.Executable) -> list[Mapping[str, Any]]:
        return [row._mapping for row in connection.execute(query)]

    def dataset_ids(self) -> list[str]:
        with self.engine.connect() as c:
            return [r["dataset_id"] for r in self._rows(c, sa.select(t.datasets.c.dataset_id)
                                                          .order_by(t.datasets.c.dataset_id))]

    def _open_stale(self, c: sa.Connection, dataset_id: str | None = None) -> dict[str, str]:
        """The datasets whose newest stale period has not ended, with its start."""
        s = t.stale_periods.c
        newest = sa.select(sa.func.max(s.id)).group_by(s.dataset_id)
        if dataset_id is not None:
            newest = newest.where(s.dataset_id == dataset_id)
        rows = self._rows(c, sa.select(s.dataset_id, s.since).where(s.id.in_(newest), s.ended_at.is_(None)))
        return {r["dataset_id"]: r["since"] for r in rows}

    def _newest(self, c: sa.Connection, dataset_id: str, limit: int, *columns: sa.Column) -> list[Mapping[str, Any]]:
        v = t.batch_verdicts.c
        query = (sa.select(*(columns or t.batch_verdicts.c)).where(v.dataset_id == dataset_id)
                 .order_by(v.recorded_at.desc(), v.batch_id.desc()).limit(limit))
        return self._rows(c, query)[::-1]

    def overview(self) -> list[DatasetHealth]:
        """Every dataset, worst first, then by id."""
        v, d = t.batch_verdicts.c, t.dataset_versions.c
        health = []
        with self.engine.connect() as c:
            stale = self._open_stale(c)
            for dataset_id in [r["dataset_id"] for r in self._rows(c, sa.select(t.datasets.c.dataset_id))]:
                recent = self._newest(c, dataset_id, SPARK_POINTS, v.batch_id, v.status, v.row_count, v.violations,
                                      v.recorded_at, v.contract_id, v.contract_version)
                last = recent[-1] if recent else None
                if last is None:
                    link = self._rows(c, sa.select(d.contract_id, d.contract_version).where(d.dataset_id == dataset_id)
                                      .order_by(d.recorded_at.desc()).limit(1))
                    last_contract = link[0] if link else {"contract_id": None, "contract_version": None}
                else:
                    last_contract = last
                status = "stale" if dataset_id in stale else (last["status"] if last else "unknown")
                health.append(DatasetHealth(
                    dataset_id=dataset_id, status=status if status in SEVERITY else "unknown",
                    contract_id=last_contract["contract_id"], contract_version=last_contract["contract_version"],
                    last_batch_id=last["batch_id"] if last else None, last_batch_at=last["recorded_at"] if last else None,
                    rows_per_minute=rows_per_minute(recent),
                    spark=tuple((r["batch_id"], r["violations"], r["status"]) for r in recent),
                    stale_since=stale.get(dataset_id)))
        return sorted(health, key=lambda h: (SEVERITY[h.status], h.dataset_id))

    def dataset(self, dataset_id: str, *, rule: str | None = None) -> DatasetPage:
        """The page of ``dataset_id``; :class:`NotFoundError` naming the datasets kept when unknown."""
        v = t.batch_verdicts.c
        with self.engine.connect() as c:
            found = self._rows(c, sa.select(t.datasets).where(t.datasets.c.dataset_id == dataset_id))
            if not found:
                raise NotFoundError(_unknown("dataset", dataset_id, self.dataset_ids()))
            window = [verdict_from_row(r) for r in self._newest(c, dataset_id, WINDOW)]
            total = c.execute(sa.select(sa.func.count()).where(v.dataset_id == dataset_id)).scalar_one()
            if rule:
                f = t.rule_failures.c
                broke = (sa.select(t.batch_verdicts).join(t.rule_failures, sa.and_(
                    f.dataset_id == v.dataset_id, f.dataset_version == v.dataset_version, f.query_id == v.query_id,
                    f.batch_id == v.batch_id)).where(f.dataset_id == dataset_id, f.rule_key == rule)
                    .order_by(f.recorded_at.desc(), f.batch_id.desc()).limit(TABLE_ROWS))
                table = [verdict_from_row(r) for r in self._rows(c, broke)]
            else:
                table = window[::-1][:TABLE_ROWS]
            stale_now = self._open_stale(c, dataset_id)
            status = "stale" if stale_now else (window[-1].status if window else "unknown")
            page = DatasetPage(
                dataset_id=dataset_id, first_seen=found[0]["first_seen"], last_seen=found[0]["last_seen"],
                status=status, total=total, window=tuple(window), table=tuple(table), rule=rule,
                rules=tuple(self._rules(c, dataset_id, window)), stale=tuple(self._stale(c, dataset_id)),
                alerts=tuple(self._alerts(c, dataset_id)), observations=tuple(self._observations(c, dataset_id)),
                queries=tuple(self._queries(c, dataset_id)), versions=tuple(self._versions(c, dataset_id)),
                inputs=tuple(self._inputs(c, dataset_id)))
        return page

    def _rules(self, c: sa.Connection, dataset_id: str, window: Sequence[BatchVerdict]) -> list[RuleSummary]:
        """Each rule of the newest batch, and any other that ever failed, with its figures."""
        f = t.rule_failures.c
        newest = {r["key"]: r for r in (window[-1].rules if window else ())}
        since = window[0].recorded_at if window else ""
        in_window = {r["rule_key"]: r for r in self._rows(c, sa.select(
            f.rule_key, sa.func.sum(f.violations).label("rows"), sa.func.count().label("batches"))
            .where(f.dataset_id == dataset_id, f.recorded_at >= since).group_by(f.rule_key))}
        keys = [r["rule_key"] for r in self._rows(c, sa.select(f.rule_key).where(f.dataset_id == dataset_id)
                                                  .group_by(f.rule_key))]
        known = {**{key: None for key in keys}, **newest}
        summaries = []
        for key, entry in known.items():
            entry = entry or self._rule_entry(c, dataset_id, key)
            first, last = (self._failure(c, dataset_id, key, order) for order in (sa.asc, sa.desc))
            counted = counts_rows(entry)
            figures = in_window.get(key)
            summaries.append(RuleSummary(
                key=key, rule=str(entry.get("rule") or ""), column=entry.get("column"),
                severity=str(entry.get("severity") or ""), counts_rows=counted,
                newest=entry.get("violations") if key in newest else None,
                newest_passed=entry.get("passed") if key in newest else None,
                window_rows=int(figures["rows"] or 0) if figures and counted else 0,
                window_failed=figures["batches"] if figures else 0, first_failed=first, last_failed=last))
        return sorted(summaries, key=lambda s: (s.newest_passed is not False, -s.window_failed, s.key))

    def _rule_entry(self, c: sa.Connection, dataset_id: str, key: str) -> dict[str, Any]:
        """A rule no longer in the newest batch, as the newest verdict that broke it described it."""
        f, v = t.rule_failures.c, t.batch_verdicts.c
        rows = self._rows(c, sa.select(v.rules_json).join(t.rule_failures, sa.and_(
            f.dataset_id == v.dataset_id, f.dataset_version == v.dataset_version, f.query_id == v.query_id,
            f.batch_id == v.batch_id)).where(f.dataset_id == dataset_id, f.rule_key == key)
            .order_by(f.recorded_at.desc()).limit(1))
        rules = json.loads(rows[0]["rules_json"]) if rows and rows[0]["rules_json"] else []
        return next((r for r in rules if r.get("key") == key), {"key": key})

    def _failure(self, c: sa.Connection, dataset_id: str, key: str, order: Any) -> RuleFailure | None:
        f = t.rule_failures.c
        rows = self._rows(c, sa.select(f.batch_id, f.recorded_at).where(f.dataset_id == dataset_id, f.rule_key == key)
                          .order_by(order(f.recorded_at), order(f.batch_id)).limit(1))
        return RuleFailure(rows[0]["batch_id"], rows[0]["recorded_at"]) if rows else None

    def _inputs(self, c: sa.Connection, dataset_id: str) -> list[tuple[str, bool]]:
        """The datasets the newest write of ``dataset_id`` read, as its observation names them."""
        o = t.observations.c
        rows = self._rows(c, sa.select(o.location_json).where(
            o.dataset_id == dataset_id, o.operation.in_(("write", "write_stream")), o.location_json.like('%"inputs"%'))
            .order_by(o.id.desc()).limit(1))
        inputs = json.loads(rows[0]["location_json"]).get("inputs", []) if rows else []
        known = {r["dataset_id"] for r in self._rows(c, sa.select(t.datasets.c.dataset_id)
                                                     .where(t.datasets.c.dataset_id.in_(inputs)))} if inputs else set()
        return [(name, name in known) for name in inputs]

    def _stale(self, c: sa.Connection, dataset_id: str) -> list[dict[str, Any]]:
        s = t.stale_periods.c
        rows = self._rows(c, sa.select(s.since, s.ended_at, s.detected_at, s.last_batch_id, s.frequency_s)
                          .where(s.dataset_id == dataset_id).order_by(s.id.desc()).limit(RECENT))
        return [dict(r) for r in rows]

    def _alerts(self, c: sa.Connection, dataset_id: str) -> list[dict[str, Any]]:
        a = t.alerts.c
        rows = self._rows(c, sa.select(a.alert_json, a.delivered_json).where(a.dataset_id == dataset_id)
                          .order_by(a.id.desc()).limit(RECENT))
        return [{**json.loads(r["alert_json"]), "delivered": json.loads(r["delivered_json"])} for r in rows]

    def _observations(self, c: sa.Connection, dataset_id: str) -> list[SchemaObservation]:
        o = t.observations.c
        rows = self._rows(c, sa.select(t.observations).where(o.dataset_id == dataset_id)
                          .order_by(o.id.desc()).limit(RECENT))
        return [observation_from_row(r) for r in rows]

    def _queries(self, c: sa.Connection, dataset_id: str) -> list[QueryFed]:
        v = t.batch_verdicts.c
        rows = self._rows(c, sa.select(v.query_id, sa.func.count().label("batches"),
                                       sa.func.min(v.recorded_at).label("first_at"),
                                       sa.func.max(v.recorded_at).label("last_at"),
                                       sa.func.max(v.batch_id).label("last_batch_id"))
                          .where(v.dataset_id == dataset_id).group_by(v.query_id))
        return sorted((QueryFed(**r) for r in rows), key=lambda q: q.last_at, reverse=True)

    def _versions(self, c: sa.Connection, dataset_id: str) -> list[dict[str, Any]]:
        d = t.dataset_versions.c
        return [dict(r) for r in self._rows(c, sa.select(t.dataset_versions).where(d.dataset_id == dataset_id)
                                            .order_by(d.recorded_at, d.dataset_version))]

    def contracts(self) -> list[dict[str, Any]]:
        """Every contract id with its number of versions and its newest one."""
        k = t.contracts.c
        rows = self._read(sa.select(k.contract_id, k.version, k.status).order_by(k.contract_id))
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["contract_id"], []).append(row)
        listed = []
        for cid, found in grouped.items():
            newest = sort_versions(r["version"] for r in found)[-1]
            listed.append({"contract_id": cid, "versions": len(found),
                           "latest": next(r for r in found if r["version"] == newest)})
        return listed

    def contract_versions(self, contract_id: str) -> list[ContractVersion]:
        """The versions of ``contract_id``, newest first; :class:`NotFoundError` naming the ids kept."""
        k, d = t.contracts.c, t.dataset_versions.c
        with self.engine.connect() as c:
            rows = self._rows(c, sa.select(k.version, k.status, k.recorded_at).where(k.contract_id == contract_id))
            if not rows:
                known = [r["contract_id"] for r in self._rows(c, sa.select(k.contract_id).distinct()
                                                              .order_by(k.contract_id))]
                raise NotFoundError(_unknown("contract", contract_id, known))
            linked: dict[str, list[str]] = {}
            for r in self._rows(c, sa.select(d.contract_version, d.dataset_id).distinct()
                                .where(d.contract_id == contract_id).order_by(d.dataset_id)):
                linked.setdefault(r["contract_version"], []).append(r["dataset_id"])
        by_version = {r["version"]: r for r in rows}
        return [ContractVersion(v, by_version[v]["status"], by_version[v]["recorded_at"], tuple(linked.get(v, ())))
                for v in sort_versions(by_version)[::-1]]

    def _read(self, query: sa.Executable) -> list[Mapping[str, Any]]:
        with self.engine.connect() as c:
            return self._rows(c, query)

    def stamp(self, dataset_id: str | None = None) -> str:
        """A text that changes whenever what a page shows may have: verdicts, stale periods, alerts,
        observations and datasets (of ``dataset_id``, else of all)."""
        parts = []
        with self.engine.connect() as c:
            for table, changed in ((t.batch_verdicts, sa.func.max(t.batch_verdicts.c.recorded_at)),
                                   (t.stale_periods, sa.func.count(t.stale_periods.c.ended_at)),
                                   (t.alerts, sa.func.max(t.alerts.c.id)),
                                   (t.observations, sa.func.max(t.observations.c.id)),
                                   (t.datasets, sa.func.max(t.datasets.c.last_seen))):
                query = sa.select(sa.func.count(), changed)
                if dataset_id is not None:
                    query = query.where(table.c.dataset_id == dataset_id)
                parts.extend(str(value) for value in c.execute(query.select_from(table)).one())
        return ":".join(parts)


def _unknown(kind: str, wanted: str, known: Sequence[str], shown: int = 20) -> str:
    listed = ", ".join(known[:shown]) + (f" and {len(known) - shown} more" if len(known) > shown else "")
    return f"no {kind} {wanted!r} is kept here; " + (f"known: {listed}" if known else f"no {kind} is kept yet")

