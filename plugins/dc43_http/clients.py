"""Remote clients of the four dc43 services, each the same methods as its local counterpart.

``base_url`` and ``token`` default to ``DC43_SERVICE_URL`` and ``DC43_SERVICE_TOKEN``. Contract
versions are immutable, so each is fetched once per process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from dc43.contracts.keys import remember_notes
from dc43.contracts.loading import contract_from_dict, contract_to_dict
from dc43.governance.service import BatchVerdict, MetricsRequest, SchemaObservation, observation_from
from dc43.products.models import DataProduct, Port, PortRegistration
from dc43.quality.plan import Expectation
from dc43.results import ObservationPayload, ValidationResult

from dc43_http.connection import ServiceConnection


class _Remote:
    """A client over one :class:`ServiceConnection` (picklable: URL, token, timeout)."""

    def __init__(self, *, base_url: str | None = None, token: str | None = None, timeout: float = 10.0,
                 headers: Mapping[str, str] | None = None) -> None:
        self.connection = ServiceConnection(base_url, token, timeout=timeout, headers=headers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.connection.base_url!r})"

    def close(self) -> None:
        self.connection.close()

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        return self.connection.request(method, f"/api{path}", params=params, body=body)


def _contract(answer: Mapping[str, Any], source: str) -> Any:
    contract = contract_from_dict(answer["contract"], source)
    remember_notes(contract, tuple(answer.get("notes") or ()))
    return contract


class RemoteContractServiceClient(_Remote):
    """The contract service of a ``dc43 serve``: get, latest, list, resolve a selector, publish."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._versions: dict[tuple[str, str], Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"connection": self.connection}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.connection = state["connection"]
        self._versions, self._lock = {}, threading.Lock()

    def _source(self, contract_id: str, version: str) -> str:
        return f"{self.connection.base_url} {contract_id}@{version}"

    def _keep(self, answer: Mapping[str, Any]) -> Any:
        document = answer["contract"]
        key = (str(document.get("id")), str(document.get("version")))
        with self._lock:
            self._versions[key] = answer
        return _contract(answer, self._source(*key))

    def get(self, contract_id: str, contract_version: str) -> Any:
        """The contract stored under exactly ``contract_id`` and ``contract_version``."""
        with self._lock:
            kept = self._versions.get((contract_id, contract_version))
        if kept is not None:
            return _contract(kept, self._source(contract_id, contract_version))
        return self._keep(self._call("GET", f"/contracts/{contract_id}/versions/{contract_version}"))

    def latest(self, contract_id: str) -> Any | None:
        """The latest version of ``contract_id``, or None when the service does not know it."""
        from dc43.errors import ContractNotFoundError

        try:
            return self._keep(self._call("GET", f"/contracts/{contract_id}/latest"))
        except ContractNotFoundError:
            return None

    def list_versions(self, contract_id: str) -> list[str]:
        """Versions of ``contract_id`` by SemVer precedence (empty when unknown)."""
        from dc43.errors import ContractNotFoundError

        try:
            return list(self._call("GET", f"/contracts/{contract_id}/versions"))
        except ContractNotFoundError:
            return []

    def list_contracts(self) -> list[str]:
        """Every contract id the service holds."""
        return list(self._call("GET", "/contracts"))

    def resolve(self, contract_id: str, expected_version: str | None = None, *, allow_inactive: bool = False,
                allowed_statuses: Iterable[str] | None = None, include_prerelease: bool = False) -> Any:
        """The highest version matching ``expected_version`` whose status is allowed (the service decides)."""
        return self._keep(self._call("GET", f"/contracts/{contract_id}/resolve", params={
            "selector": expected_version, "allow_inactive": allow_inactive,
            "allowed_statuses": list(allowed_statuses or ()) or None, "include_prerelease": include_prerelease}))

    def put(self, contract: Any) -> None:
        """Publish ``contract``; the same document again is a no-op, other content under its version refused."""
        self._call("PUT", "/contracts", body=contract_to_dict(contract))


class RemoteDataQualityServiceClient(_Remote):
    """The data-quality service of a ``dc43 serve``: expectation plans and verdicts of metrics."""

    _KEPT = 16

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._documents: dict[int, tuple[Any, dict[str, Any]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"connection": self.connection}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.connection, self._documents = state["connection"], {}

    def _document(self, contract: Any) -> dict[str, Any]:
        """The contract as sent, written out once per contract object (every micro-batch sends it)."""
        kept = self._documents.get(id(contract))
        if kept is None or kept[0] is not contract:
            kept = (contract, contract_to_dict(contract))
            if len(self._documents) >= self._KEPT:
                self._documents.clear()
            self._documents[id(contract)] = kept
        return kept[1]

    def describe_expectations(self, *, contract: Any) -> list[Expectation]:
        return [Expectation(**e) for e in self._call("POST", "/quality/expectations",
                                                     body={"contract": self._document(contract)})]

    def evaluate(self, *, contract: Any, payload: ObservationPayload) -> ValidationResult:
        body = {"contract": self._document(contract),
                "payload": {"metrics": payload.metrics, "schema": payload.schema, "reused": payload.reused}}
        return ValidationResult(**self._call("POST", "/quality/evaluate", body=body))


class RemoteGovernanceServiceClient(_Remote):
    """Governance records in a ``dc43 serve``: the methods of the local governance service."""

    def record_observation(self, observation: SchemaObservation) -> None:
        self._call("POST", "/governance/observations", body=_plain(attrs.asdict(observation)))

    def record_verdict(self, verdict: BatchVerdict) -> None:
        self._call("POST", "/governance/verdicts", body=_plain(attrs.asdict(verdict)))

    def record_commit(self, dataset_id: str, dataset_version: str, batch_id: int, commit: Any,
                      query_id: str = "") -> None:
        self._call("POST", "/governance/commits", body=_plain({
            "dataset_id": dataset_id, "dataset_version": dataset_version, "batch_id": batch_id, "commit": commit,
            "query_id": query_id}))

    def record_alert(self, alert: Mapping[str, Any], delivered: Mapping[str, bool]) -> None:
        self._call("POST", "/governance/alerts", body=_plain({"alert": alert, "delivered": delivered}))

    def alerts(self, dataset_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/governance/alerts", params={"dataset_id": dataset_id, "limit": limit})

    def record_stale(self, period: Mapping[str, Any]) -> int:
        return self._call("POST", "/governance/stale-periods", body=_plain(period))["id"]

    def end_stale(self, period_id: int, ended_at: str) -> None:
        self._call("POST", f"/governance/stale-periods/{period_id}/end", body={"ended_at": ended_at})

    def stale_periods(self, dataset_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/governance/stale-periods", params={"dataset_id": dataset_id, "limit": limit})

    def datasets(self) -> list[dict[str, Any]]:
        return self._call("GET", "/governance/datasets")

    def dataset_versions(self, dataset_id: str) -> list[dict[str, Any]]:
        return self._call("GET", "/governance/dataset-versions", params={"dataset_id": dataset_id})

    def observations(self, dataset_id: str | None = None) -> list[SchemaObservation]:
        return [observation_from(o) for o in self._call("GET", "/governance/observations",
                                                        params={"dataset_id": dataset_id})]

    def verdicts(self, dataset_id: str, dataset_version: str | None = None, *, limit: int | None = None,
                 offset: int = 0) -> list[BatchVerdict]:
        """Verdicts of ``dataset_id`` (optionally one version), oldest first; none for an unknown dataset."""
        from dc43.errors import NotFoundError

        try:
            found = self._call("GET", "/governance/verdicts", params={
                "dataset_id": dataset_id, "dataset_version": dataset_version, "limit": limit, "offset": offset})
        except NotFoundError:
            return []
        return [BatchVerdict(**v) for v in found]

    def latest_verdict(self, dataset_id: str, dataset_version: str | None = None) -> BatchVerdict | None:
        from dc43.errors import NotFoundError

        try:
            found = self._call("GET", "/governance/verdicts/latest",
                               params={"dataset_id": dataset_id, "dataset_version": dataset_version})
        except NotFoundError:
            return None
        return None if found is None else BatchVerdict(**found)

    def link_contract(self, dataset_id: str, dataset_version: str, contract_id: str, contract_version: str) -> None:
        self._call("POST", "/governance/links", body={"dataset_id": dataset_id, "dataset_version": dataset_version,
                                                      "contract_id": contract_id, "contract_version": contract_version})

    def contract_link(self, dataset_id: str, dataset_version: str | None = None) -> tuple[str, str] | None:
        found = self._call("GET", "/governance/links",
                           params={"dataset_id": dataset_id, "dataset_version": dataset_version})
        return None if found is None else (found["contract_id"], found["contract_version"])

    def save_metrics_request(self, request: MetricsRequest) -> None:
        self._call("PUT", "/governance/metric-requests", body=_plain(attrs.asdict(request)))

    def metrics_request(self, request_id: str) -> MetricsRequest | None:
        from dc43.errors import NotFoundError

        try:
            return MetricsRequest(**self._call("GET", f"/governance/metric-requests/{request_id}"))
        except NotFoundError:
            return None

    def request_metrics(self, *, spark: Any, dataset_id: str, dataset_version: str, **kwargs: Any) -> Any:
        """Measure a stored snapshot in the background here; its state and result go to the service."""
        from dc43.spark.monitoring import request_metrics

        return request_metrics(spark=spark, dataset_id=dataset_id, dataset_version=dataset_version,
                               governance_service=self, **kwargs)


class RemoteDataProductServiceClient(_Remote):
    """Data products in a ``dc43 serve``: versions, ports and the contracts bound to them."""

    def product_ids(self) -> list[str]:
        return list(self._call("GET", "/products"))

    def versions(self, product_id: str) -> list[str]:
        return list(self._call("GET", f"/products/{product_id}/versions"))

    def get(self, product_id: str, version: str | None = None) -> DataProduct:
        return DataProduct.from_dict(self._call("GET", f"/products/{product_id}", params={"version": version}))

    def put(self, product: DataProduct) -> None:
        self._call("PUT", "/products", body=product.to_dict())

    def port_contract(self, product_id: str, kind: str, port_name: str, version: str | None = None) -> Port:
        return Port.from_dict(self._call("GET", f"/products/{product_id}/ports/{kind}/{port_name}",
                                         params={"version": version}))

    def register_port(self, product_id: str, kind: str, port: Port) -> PortRegistration:
        return PortRegistration(**self._call("POST", f"/products/{product_id}/ports",
                                             body={"kind": kind, "port": port.to_dict()}))


def _plain(value: Any) -> Any:
    """``value`` as JSON can carry it: tuples as lists, other objects as their text."""
    return json.loads(json.dumps(value, default=str))


CLIENTS = {"contract": RemoteContractServiceClient, "data_quality": RemoteDataQualityServiceClient,
           "governance": RemoteGovernanceServiceClient, "data_product": RemoteDataProductServiceClient}
