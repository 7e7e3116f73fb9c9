"""Asynchronous metric computation on a stored dataset snapshot.

``request_metrics`` reads a snapshot (a path or table the locator resolves, by
default where governance last saw the dataset) in a background thread,
measures it against its contract like a batch read, records the verdict in
governance and keeps the request's progress queryable there.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from dc43.errors import Dc43Error
from dc43.governance.service import MetricsRequest
from dc43.locators import StaticDatasetLocator, utc_timestamp


@attrs.frozen
class MetricsRequestHandle:
    """A running (or finished) metric request; its state lives in governance."""

    request_id: str
    governance_service: Any
    _thread: threading.Thread

    def state(self) -> MetricsRequest:
        return self.governance_service.metrics_request(self.request_id)

    def wait(self, timeout: float | None = None) -> MetricsRequest:
        """Wait for the computation to finish (or ``timeout``) and return its state."""
        self._thread.join(timeout)
        return self.state()


def _location(governance: Any, dataset_id: str) -> Mapping[str, Any]:
    for observation in reversed(governance.observations(dataset_id)):
        if observation.location:
            return observation.location
    raise Dc43Error(
        f"governance does not know where '{dataset_id}' is stored; pass format= and path= "
        "(or table=) to request_metrics")


def request_metrics(*, spark: Any, dataset_id: str, dataset_version: str, governance_service: Any = None,
                    contract_service: Any = None, data_quality_service: Any = None,
                    contract_id: str | None = None, expected_contract_version: str | None = None,
                    format: str | None = None, path: str | None = None, table: str | None = None,
                    options: Mapping[str, str] | None = None) -> MetricsRequestHandle:
    """Start computing the contract's metrics on a snapshot; returns at once."""
    from dc43.spark import steps
    from dc43.spark.io import read_with_contract

    governance = steps.service("governance", governance_service)
    if contract_id is None:
        link = governance.contract_link(dataset_id)
        if link is None:
            raise Dc43Error(f"no contract is linked to '{dataset_id}' in governance; pass contract_id=")
        contract_id, linked_version = link
        expected_contract_version = expected_contract_version or f"=={linked_version}"
    if path is None and table is None:
        where = _location(governance, dataset_id)
        format, path, table = format or where.get("format"), where.get("path"), where.get("table")
    request = MetricsRequest(request_id=uuid.uuid4().hex, dataset_id=dataset_id,
                             dataset_version=dataset_version, state="pending",
                             requested_at=utc_timestamp())
    governance.save_metrics_request(request)

    def compute() -> None:
        governance.save_metrics_request(attrs.evolve(request, state="running"))
        try:
            _, result = read_with_contract(
                spark=spark, contract_id=contract_id, contract_service=contract_service,
                expected_contract_version=expected_contract_version, format=format, path=path,
                table=table, options=options, enforce=False,
                data_quality_service=data_quality_service, governance_service=governance,
                dataset_locator=StaticDatasetLocator(dataset_id=dataset_id, dataset_version=dataset_version),
                pipeline_context={"operation": "request_metrics", "request_id": request.request_id},
            )
            done = attrs.evolve(request, state="done", status=result.status, metrics=dict(result.metrics),
                                finished_at=utc_timestamp())
        except Exception as exc:  # recorded for whoever polls; never lost in a thread
            done = attrs.evolve(request, state="failed", error=f"{type(exc).__name__}: {exc}",
                                finished_at=utc_timestamp())
        governance.save_metrics_request(done)

    thread = threading.Thread(target=compute, name=f"dc43-metrics-{request.request_id[:8]}", daemon=True)
    thread.start()
    return MetricsRequestHandle(request.request_id, governance, thread)
