"""Governance over HTTP: schema observations, batch verdicts, commits, links, alerts, stale periods
and metric requests. Writes are idempotent; datasets are named in query parameters (ids may hold
``/``)."""

from __future__ import annotations

from typing import Annotated, Any

import attrs
from fastapi import APIRouter, Query

from dc43.errors import InvalidArgumentError, NotFoundError
from dc43.governance.service import BatchVerdict, MetricsRequest, SchemaObservation
from dc43.service import bodies
from dc43.service.state import Services, ServicesDep

router = APIRouter(prefix="/governance", tags=["governance"])
Limit = Annotated[int | None, Query(ge=1, le=100_000)]


def _known(s: Services, dataset_id: str) -> None:
    """Refuse a dataset governance never saw (404 naming the known ones)."""
    known = [d["dataset_id"] for d in s.governance.datasets()]
    if dataset_id not in known:
        shown = ", ".join(map(repr, known[:20])) or "none yet"
        raise NotFoundError(f"unknown dataset {dataset_id!r}; known datasets: {shown}")


@router.post("/observations", status_code=204)
def record_observation(s: ServicesDep, body: bodies.Observation) -> None:
    """Keep a schema observation (once: the same observation again is not kept twice)."""
    data = body.model_dump(by_alias=True)
    s.governance.record_observation(SchemaObservation(**{**data, "warnings": tuple(data["warnings"])}))


@router.get("/observations")
def observations(s: ServicesDep, dataset_id: str | None = None) -> list[dict[str, Any]]:
    """Schema observations, oldest first (of one dataset, or all)."""
    return [attrs.asdict(o) for o in s.governance.observations(dataset_id)]


@router.post("/verdicts", status_code=204)
def record_verdict(s: ServicesDep, body: bodies.Verdict) -> None:
    """Keep a batch's verdict; the same (dataset, version, query, batch id) again replaces it."""
    s.governance.record_verdict(BatchVerdict(**body.model_dump()))


@router.get("/verdicts")
def verdicts(s: ServicesDep, dataset_id: str, dataset_version: str | None = None, limit: Limit = None,
             offset: Annotated[int, Query(ge=0)] = 0) -> list[dict[str, Any]]:
    """Verdicts of a dataset (optionally one version), oldest first, paged."""
    _known(s, dataset_id)
    return [attrs.asdict(v) for v in s.governance.verdicts(dataset_id, dataset_version, limit=limit, offset=offset)]


@router.get("/verdicts/latest")
def latest_verdict(s: ServicesDep, dataset_id: str, dataset_version: str | None = None) -> dict[str, Any] | None:
    """The newest verdict of a dataset (of one ``dataset_id``@``dataset_version`` when given); null if none."""
    _known(s, dataset_id)
    verdict = s.governance.latest_verdict(dataset_id, dataset_version)
    return None if verdict is None else attrs.asdict(verdict)


@router.post("/commits", status_code=204)
def record_commit(s: ServicesDep, body: bodies.Commit) -> None:
    """Keep what a judged batch's write committed with its verdict."""
    s.governance.record_commit(body.dataset_id, body.dataset_version, body.batch_id, body.commit, body.query_id)


@router.get("/datasets")
def datasets(s: ServicesDep) -> list[dict[str, Any]]:
    """Every dataset with when it was first and last seen."""
    return s.governance.datasets()


@router.get("/dataset-versions")
def dataset_versions(s: ServicesDep, dataset_id: str) -> list[dict[str, Any]]:
    """The versions of a dataset and the contract each follows."""
    _known(s, dataset_id)
    return s.governance.dataset_versions(dataset_id)


@router.post("/links", status_code=204)
def link_contract(s: ServicesDep, body: bodies.Link) -> None:
    """Link a dataset version to the contract it follows."""
    s.governance.link_contract(body.dataset_id, body.dataset_version, body.contract_id, body.contract_version)


@router.get("/links")
def contract_link(s: ServicesDep, dataset_id: str, dataset_version: str | None = None) -> dict[str, str] | None:
    """The contract a dataset version (default: its newest) follows; null if none."""
    link = s.governance.contract_link(dataset_id, dataset_version)
    return None if link is None else {"contract_id": link[0], "contract_version": link[1]}


@router.post("/alerts", status_code=204)
def record_alert(s: ServicesDep, body: bodies.Alert) -> None:
    """Keep an alert a write sent and who got it (once per alert)."""
    if not isinstance(body.alert.get("dataset_id"), str) or not body.alert["dataset_id"]:
        raise InvalidArgumentError("alert.dataset_id is missing: an alert names the dataset it is about")
    s.governance.record_alert(body.alert, body.delivered)


@router.get("/alerts")
def alerts(s: ServicesDep, dataset_id: str, limit: Limit = None) -> list[dict[str, Any]]:
    """The newest alerts of a dataset, oldest first."""
    return s.governance.alerts(dataset_id, limit=limit)


@router.post("/stale-periods")
def record_stale(s: ServicesDep, body: bodies.StalePeriod) -> dict[str, int]:
    """Record that a stream went stale; the same period again gets the same id."""
    return {"id": s.governance.record_stale(body.model_dump())}


@router.post("/stale-periods/{period_id}/end", status_code=204)
def end_stale(s: ServicesDep, period_id: int, body: bodies.StaleEnd) -> None:
    """The stream delivered again: the stale period ends (its first end is kept)."""
    s.governance.end_stale(period_id, body.ended_at)


@router.get("/stale-periods")
def stale_periods(s: ServicesDep, dataset_id: str, limit: Limit = None) -> list[dict[str, Any]]:
    """The newest stale periods of a dataset, oldest first; ``ended_at`` null while it is stale."""
    return s.governance.stale_periods(dataset_id, limit=limit)


@router.put("/metric-requests", status_code=204)
def save_metrics_request(s: ServicesDep, body: bodies.MetricsRequest) -> None:
    """Create or update an asynchronous metric computation (pending, running, done, failed)."""
    s.governance.save_metrics_request(MetricsRequest(**body.model_dump()))


@router.get("/metric-requests/{request_id}")
def metrics_request(s: ServicesDep, request_id: str) -> dict[str, Any]:
    """The state and, once done, the result of a metric computation."""
    found = s.governance.metrics_request(request_id)
    if found is None:
        raise NotFoundError(f"no metric request {request_id!r}; request_metrics(...) returns the id to ask for")
    return attrs.asdict(found)
