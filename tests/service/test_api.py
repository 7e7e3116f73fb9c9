"""The shared service over HTTP, on PostgreSQL and on the SQLite default: what a pipeline's clients
and a person with curl see."""

from __future__ import annotations

import attrs
import httpx
import pytest
from dc43.contracts.loading import contract_from_dict
from dc43.errors import (
    ContractConflictError,
    ContractNotFoundError,
    ContractStatusError,
    ServiceAuthError,
)
from dc43.governance.service import BatchVerdict, MetricsRequest, SchemaObservation
from dc43.products.models import Port
from dc43.results import ObservationPayload
from dc43.service.database import ServiceDatabase
from dc43_http.clients import (
    RemoteContractServiceClient,
    RemoteDataProductServiceClient,
    RemoteDataQualityServiceClient,
    RemoteGovernanceServiceClient,
)

from tests.service.conftest import fresh_database
from tests.service_process import ServeProcess

pytestmark = pytest.mark.service


def orders(version: str = "1.0.0", *, status: str = "active", max_amount: int = 100) -> dict:
    """A contract of this suite: an id that must be present and an amount of at most ``max_amount``."""
    return {"apiVersion": "3.0.2", "kind": "DataContract", "id": "sales.orders", "version": version,
            "status": status, "schema": [{"name": "orders", "properties": [
                {"name": "order_id", "physicalType": "bigint", "logicalType": "integer", "required": True},
                {"name": "amount", "physicalType": "double", "logicalType": "number",
                 "logicalTypeOptions": {"maximum": max_amount}}]}]}


def verdict(batch_id: int, status: str = "ok", rows: int = 10, version: str = "1") -> BatchVerdict:
    return BatchVerdict("sales.orders", version, batch_id, "sales.orders", "1.0.0", status, rows,
                        {"row_count": rows, "violations.not_null:order_id": 0}, None,
                        f"2026-12-07T10:00:{batch_id:02d}.000000Z")


def clients(service: ServeProcess, token: str | None = None) -> tuple:
    kwargs = {"base_url": service.url, "token": service.token if token is None else token}
    return (RemoteContractServiceClient(**kwargs), RemoteDataQualityServiceClient(**kwargs),
            RemoteGovernanceServiceClient(**kwargs), RemoteDataProductServiceClient(**kwargs))


def test_health_and_openapi_answer_without_a_token(service: ServeProcess, database_url: str) -> None:
    health = httpx.get(f"{service.url}/healthz").json()
    head = ServiceDatabase(database_url, migrate=False).head()
    assert health == {"status": "ok", "database": database_url.split(":")[0].split("+")[0], "schema": head}
    paths = httpx.get(f"{service.url}/openapi.json").json()["paths"]
    assert all(path.startswith("/api/") or path == "/healthz" for path in paths)  # the pages are not API
    for path in ("/api/contracts/{contract_id}/resolve", "/api/quality/evaluate", "/api/governance/verdicts",
                 "/api/governance/verdicts/latest", "/api/governance/metric-requests/{request_id}",
                 "/api/governance/stale-periods", "/api/products/{product_id}/ports"):
        assert path in paths


def test_a_missing_token_is_401_and_a_wrong_one_403_and_neither_is_logged(service: ServeProcess) -> None:
    missing = httpx.get(f"{service.url}/api/governance/datasets")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert "DC43_SERVICE_TOKEN" in missing.json()["error"]
    wrong = httpx.get(f"{service.url}/api/governance/datasets", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 403
    *_, governance, _ = clients(service, token="")
    with pytest.raises(ServiceAuthError, match="DC43_SERVICE_TOKEN"):
        governance.datasets()
    *_, governance, _ = clients(service, token="not-it")
    with pytest.raises(ServiceAuthError, match="403"):
        governance.verdicts("sales.orders")
    *_, governance, _ = clients(service)
    assert governance.datasets() == []
    assert service.token not in service.log() and "not-it" not in service.log()
    assert service.token not in repr(governance) and service.token not in repr(governance.connection)


def test_contracts_are_published_once_and_resolved_by_selector(service: ServeProcess) -> None:
    contracts, *_ = clients(service)
    for version in ("1.0.0", "1.1.0", "2.0.0-rc.1"):
        contracts.put(contract_from_dict(orders(version), "test"))
    contracts.put(contract_from_dict(orders("1.0.0"), "test"))  # the same document again: nothing changes
    contracts.put(contract_from_dict(orders("0.9.0", status="retired"), "test"))
    assert contracts.list_contracts() == ["sales.orders"]
    assert contracts.list_versions("sales.orders") == ["0.9.0", "1.0.0", "1.1.0", "2.0.0-rc.1"]
    assert contracts.resolve("sales.orders", "^1.0").version == "1.1.0"
    assert contracts.resolve("sales.orders", "~1.0").version == "1.0.0"
    assert contracts.resolve("sales.orders").version == "1.1.0"
    assert contracts.resolve("sales.orders", include_prerelease=True).version == "2.0.0-rc.1"
    assert contracts.latest("sales.orders").version == "1.1.0" and contracts.latest("sales.other") is None
    with pytest.raises(ContractStatusError, match="retired"):
        contracts.resolve("sales.orders", "==0.9.0")
    assert contracts.resolve("sales.orders", "==0.9.0", allowed_statuses=["retired"]).status == "retired"
    with pytest.raises(ContractConflictError, match="bump the version"):
        contracts.put(contract_from_dict(orders("1.0.0", max_amount=5), "test"))
    with pytest.raises(ContractNotFoundError, match="available: 0.9.0, 1.0.0, 1.1.0"):
        contracts.get("sales.orders", "3.0.0")
    assert contracts.get("sales.orders", "1.0.0").schema_[0].properties[1].logicalTypeOptions == {"maximum": 100}


def test_bad_input_gets_a_4xx_naming_the_problem_and_writes_nothing(service: ServeProcess) -> None:
    api, headers = f"{service.url}/api", {**service.headers(), "Content-Type": "application/json"}

    def answer(method: str, path: str, **kwargs) -> tuple[int, str]:
        response = httpx.request(method, f"{api}{path}", headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
        return response.status_code, response.json()["error"]

    status, error = answer("PUT", "/contracts", content=b'{"id": "sales.orders", ')
    assert status == 422 and "JSON" in error
    status, error = answer("PUT", "/contracts", json={"version": "1.0.0", "kind": "DataContract"})
    assert status == 422 and "'id'" in error
    status, error = answer("PUT", "/contracts", json=orders("1.0"))
    assert status == 422 and "version" in error and "1.0" in error
    status, error = answer("PUT", "/contracts", json=orders(), headers={"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in error
    status, error = answer("PUT", "/contracts", content=b"[" + b"0," * 5_000_000 + b"0]")
    assert status == 413 and "bytes" in error
    status, error = answer("POST", "/governance/verdicts", json={**attrs.asdict(verdict(0)), "batch_id": -1})
    assert status == 422 and "batch_id" in error
    status, error = answer("POST", "/governance/verdicts", json={**attrs.asdict(verdict(0)), "stauts": "ok"})
    assert status == 422 and "stauts" in error
    status, error = answer("POST", "/governance/verdicts", json={**attrs.asdict(verdict(0)), "status": "fine"})
    assert status == 422 and "status" in error
    status, error = answer("GET", "/governance/verdicts", params={"dataset_id": "sales.ordres"})
    assert status == 404 and "unknown dataset 'sales.ordres'" in error
    contracts, _, governance, _ = clients(service)
    assert contracts.list_contracts() == [] and governance.datasets() == []


def test_every_write_is_idempotent(service: ServeProcess) -> None:
    _, _, governance, _ = clients(service)
    for _ in range(2):
        governance.record_verdict(verdict(0))
        governance.record_verdict(verdict(1, "warn"))
    governance.record_verdict(verdict(1, "block", rows=7))  # a replayed batch replaces its verdict
    assert [(v.batch_id, v.status, v.row_count) for v in governance.verdicts("sales.orders")] == \
        [(0, "ok", 10), (1, "block", 7)]
    assert governance.latest_verdict("sales.orders").batch_id == 1
    assert governance.latest_verdict("sales.orders", "1").status == "block"
    assert governance.latest_verdict("sales.orders", "2") is None
    ruled = attrs.evolve(verdict(2, "warn"), rules=[{"key": "le:amount", "rule": "le", "column": "amount",
                                                      "severity": "warning", "metric": "violations.le:amount",
                                                      "passed": False, "violations": 3}])
    governance.record_verdict(ruled)
    assert governance.latest_verdict("sales.orders") == ruled  # each rule's outcome kept with the verdict
    governance.record_verdict(attrs.evolve(ruled, status="block", recorded_at="2026-12-07T09:00:00.000000Z"))
    other = attrs.evolve(verdict(1, "ok", rows=4), query_id="another-query")  # another pipeline, same dataset
    governance.record_verdict(other)
    governance.record_verdict(other)
    assert sorted((v.query_id, v.batch_id, v.status) for v in governance.verdicts("sales.orders")) == \
        [("", 0, "ok"), ("", 1, "block"), ("", 2, "block"), ("another-query", 1, "ok")]
    governance.record_commit("sales.orders", "1", 1, {"sink": {"delta_version": 8}}, query_id="another-query")
    assert [v.commit for v in governance.verdicts("sales.orders") if v.batch_id == 1] in \
        ([None, {"sink": {"delta_version": 8}}], [{"sink": {"delta_version": 8}}, None])
    observation = SchemaObservation("sales.orders", "1", "sales.orders", "1.0.0", "write_stream",
                                    {"fields": []}, "ok", {"job": "nightly"}, "2026-12-07T10:00:00.000000Z")
    governance.record_observation(observation)
    governance.record_observation(observation)
    assert governance.observations("sales.orders") == [observation]
    alert = {"dataset_id": "sales.orders", "status": "warn", "previous": "ok", "batch_id": 1}
    governance.record_alert(alert, {"log": True})
    governance.record_alert(alert, {"log": True})
    assert governance.alerts("sales.orders") == [{**alert, "delivered": {"log": True}}]
    period = {"dataset_id": "sales.orders", "since": "2026-12-07T10:00:01.000000Z",
              "detected_at": "2026-12-07T10:05:00.000000Z", "last_batch_id": 1, "frequency_s": 60.0}
    first = governance.record_stale(period)
    assert governance.record_stale(period) == first
    governance.end_stale(first, "2026-12-07T10:06:00.000000Z")
    governance.end_stale(first, "2026-12-07T10:09:00.000000Z")
    assert [p["ended_at"] for p in governance.stale_periods("sales.orders")] == ["2026-12-07T10:06:00.000000Z"]
    governance.record_commit("sales.orders", "1", 0, {"sink": {"delta_version": 3}})
    assert [v.commit for v in governance.verdicts("sales.orders") if v.batch_id == 0] == [{"sink": {"delta_version": 3}}]
    governance.link_contract("sales.orders", "2", "sales.orders", "1.1.0")
    assert governance.contract_link("sales.orders", "2") == ("sales.orders", "1.1.0")
    assert governance.contract_link("sales.orders", "1") == ("sales.orders", "1.0.0")
    assert sorted(v["dataset_version"] for v in governance.dataset_versions("sales.orders")) == ["1", "2"]


def test_quality_judges_metrics_by_the_contract(service: ServeProcess) -> None:
    _, quality, _, _ = clients(service)
    contract = contract_from_dict(orders(max_amount=100), "test")
    keys = [e.key for e in quality.describe_expectations(contract=contract)]
    assert keys == ["not_null:order_id", "le:amount"]
    result = quality.evaluate(contract=contract, payload=ObservationPayload(
        metrics={"row_count": 10, "violations.not_null:order_id": 0, "violations.le:amount": 3}))
    assert (result.status, result.errors) == ("block", ["le:amount: 3 row(s) violate le"])
    assert [r["violations"] for r in result.details["rules"]] == [0, 3]


def test_metric_requests_keep_their_state(service: ServeProcess) -> None:
    _, _, governance, _ = clients(service)
    request = MetricsRequest("r1", "sales.orders", "7", "running", requested_at="2026-12-07T10:00:00.000000Z")
    governance.save_metrics_request(request)
    done = MetricsRequest("r1", "sales.orders", "7", "done", "ok", {"row_count": 4}, None, request.requested_at,
                          "2026-12-07T10:00:05.000000Z")
    governance.save_metrics_request(done)
    assert governance.metrics_request("r1") == done
    assert governance.metrics_request("r2") is None


def test_data_products_bind_ports_to_contracts(service: ServeProcess) -> None:
    *_, products = clients(service)
    first = products.register_port("sales", "output", Port("orders", "sales.orders", "1.0.0"))
    again = products.register_port("sales", "output", Port("orders", "sales.orders", "1.0.0"))
    changed = products.register_port("sales", "output", Port("orders", "sales.orders", "1.1.0"))
    assert (first.version, first.changed, again.changed, changed.version) == ("0.1.0", True, False, "0.2.0")
    assert products.port_contract("sales", "output", "orders").version == "1.1.0"
    assert products.port_contract("sales", "output", "orders", "0.1.0").version == "1.0.0"
    assert products.versions("sales") == ["0.1.0", "0.2.0"] and products.product_ids() == ["sales"]
    with pytest.raises(ContractNotFoundError, match="known: sales"):
        products.get("marketing")


def test_two_services_on_one_postgresql_serve_the_same_records(postgres, tmp_path) -> None:
    url = fresh_database(postgres)
    first = ServeProcess(url, tmp_path / "a").start()
    second = ServeProcess(url, tmp_path / "b", token=first.token).start()
    try:
        contracts_a, _, governance_a, _ = clients(first)
        contracts_b, _, governance_b, _ = clients(second)
        contracts_b.put(contract_from_dict(orders("1.2.0"), "test"))
        assert contracts_a.resolve("sales.orders", ">=1.0").version == "1.2.0"
        for batch in range(20):
            (governance_a if batch % 2 else governance_b).record_verdict(verdict(batch))
            assert governance_b.latest_verdict("sales.orders").batch_id == batch
            assert governance_a.latest_verdict("sales.orders").batch_id == batch
        assert [v.batch_id for v in governance_a.verdicts("sales.orders")] == list(range(20))
    finally:
        first.stop()
        second.stop()


def test_a_database_outage_is_a_503_and_an_outage_for_the_clients(tmp_path) -> None:
    from dc43.delivery import ServiceUnavailableError

    from tests.postgres_server import PostgresServer

    server = PostgresServer().start()
    service = ServeProcess(fresh_database(server), tmp_path / "service").start()
    try:
        _, _, governance, _ = clients(service)
        governance.record_verdict(verdict(0))
        server.stop()  # the database goes away under a running service
        health = httpx.get(f"{service.url}/healthz")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        with pytest.raises(ServiceUnavailableError, match="500"):
            governance.record_verdict(verdict(1))
        assert service.process.poll() is None  # the service itself stays up
    finally:
        service.stop()
        server.stop()
