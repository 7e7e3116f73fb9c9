"""The service's pages over HTTP on a real ``dc43 serve`` (PostgreSQL and SQLite): who may see them,
the figures they show from recorded verdicts (hand-counted), escaping, 404 pages and the live stamp.
The browser's view of the same pages is in ``test_ui_browser.py``."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from dc43.alerts import Alert
from dc43.contracts.loading import contract_from_dict
from dc43.governance import BatchVerdict, SchemaObservation
from dc43.products.models import Port
from dc43_http.clients import RemoteContractServiceClient, RemoteDataProductServiceClient, RemoteGovernanceServiceClient

from tests.service_process import ServeProcess

pytestmark = pytest.mark.service
START = datetime(2026, 12, 1, 8, 0, 0)
NASTY = '<script>alert("x")</script>'
NOT_NULL = {"key": "not_null:amount", "rule": "not_null", "column": "amount", "severity": "warning",
            "metric": "violations.not_null:amount"}
RANGE = {"key": "range:qty", "rule": "mustBeBetween", "column": "qty", "severity": "warning",
         "metric": "violations.range:qty"}
ROWS = {"key": "row_count:min", "rule": "rowCount", "column": None, "severity": "error", "metric": "metrics.row_count"}
ORDERS = {"apiVersion": "3.0.2", "kind": "DataContract", "id": "sales.orders", "version": "1.0.0", "status": "active",
          "schema": [{"name": "orders", "properties": [{"name": "order_id", "physicalType": "bigint", "required": True}]}]}
#: batch id -> rows broken of (not_null, range); the row count rule always passes
BROKEN = {0: (0, 0), 1: (2, 0), 2: (0, 0), 3: (5, 1), 4: (0, 0), 5: (0, 3)}


def stamp(second: int) -> str:
    return (START + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def verdict(batch_id: int, broken: tuple[int, int], *, dataset: str = "sales.orders",
            rules: tuple[dict[str, Any], ...] = (NOT_NULL, RANGE, ROWS)) -> BatchVerdict:
    outcomes = [{**NOT_NULL, "passed": not broken[0], "violations": broken[0]},
                {**RANGE, "passed": not broken[1], "violations": broken[1]},
                {**ROWS, "passed": True, "violations": 10}]
    outcomes = [o for o in outcomes if o["key"] in {r["key"] for r in rules}] + [
        {**r, "passed": False, "violations": 1} for r in rules if r["key"] not in {NOT_NULL["key"], RANGE["key"], ROWS["key"]}]
    total = sum(o["violations"] for o in outcomes if str(o["metric"]).startswith("violations."))
    return BatchVerdict(
        dataset_id=dataset, dataset_version=str(batch_id), batch_id=batch_id, contract_id="sales.orders",
        contract_version="1.0.0", status="warn" if total else "ok", row_count=10,
        metrics={"row_count": 10, **{o["metric"]: o["violations"] for o in outcomes if o["metric"].startswith("violations.")}},
        reason=None, recorded_at=stamp(batch_id), query_id="q-1", rules=tuple(outcomes))


class Tables(HTMLParser):
    """The text of each cell of each ``<table>`` of a page, by the table's class."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("class") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


@pytest.fixture
def viewed(database_url: str, tmp_path: Path) -> ServeProcess:
    process = ServeProcess(database_url, tmp_path / "service", viewer_token=secrets.token_urlsafe(16)).start()
    try:
        governance = RemoteGovernanceServiceClient(base_url=process.url, token=process.token)
        for batch_id, broken in BROKEN.items():
            governance.record_verdict(verdict(batch_id, broken))
        yield process
    finally:
        process.stop()


def get(service: ServeProcess, path: str, token: str | None = "writer", **kwargs: Any) -> httpx.Response:
    given = {"writer": service.token, "viewer": service.viewer_token}.get(token, token)
    headers = {"Authorization": f"Bearer {given}"} if given else {}
    return httpx.get(service.url + path, headers=headers, timeout=30, **kwargs)


def test_a_page_without_a_token_goes_to_sign_in_and_a_wrong_token_is_refused(viewed: ServeProcess) -> None:
    page = get(viewed, "/datasets/sales.orders?rule=range:qty", token=None)
    assert page.status_code == 303
    assert page.headers["location"] == "/signin?next=%2Fdatasets%2Fsales.orders%3Frule%3Drange%3Aqty"
    assert "sales.orders" not in page.text
    assert get(viewed, "/ui/stamp", token=None).status_code == 401
    wrong = get(viewed, "/", token="not-the-token")
    assert wrong.status_code == 403 and "not this service" in wrong.text and "sales.orders" not in wrong.text
    assert "not-the-token" not in wrong.text


def test_signing_in_keeps_an_http_only_lax_cookie_and_never_leaves_the_site(viewed: ServeProcess) -> None:
    with httpx.Client(base_url=viewed.url, timeout=30) as browser:
        refused = browser.post("/signin", content="token=wrong&next=%2F",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert refused.status_code == 403 and "dc43_session" not in refused.headers.get("set-cookie", "")
        signed = browser.post("/signin", data={"token": viewed.viewer_token, "next": "//evil.example/"})
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and viewed.viewer_token not in cookie
        overview = browser.get("/")
        assert overview.status_code == 200 and "sales.orders" in overview.text and "viewer" in overview.text
        browser.cookies.set("dc43_session", "writer.9999999999.forged", domain="127.0.0.1")
        assert browser.get("/", follow_redirects=False).status_code == 303
    assert viewed.token not in viewed.log() and viewed.viewer_token not in viewed.log()


def test_the_viewer_token_reads_everything_and_writes_nothing(viewed: ServeProcess) -> None:
    assert get(viewed, "/api/governance/datasets", token="viewer").status_code == 200
    assert get(viewed, "/", token="viewer").status_code == 200
    written = httpx.post(f"{viewed.url}/api/governance/verdicts", json={}, timeout=30,
                         headers={"Authorization": f"Bearer {viewed.viewer_token}"})
    assert written.status_code == 403
    assert "DC43_VIEWER_TOKEN" in written.json()["error"] and "reads only" in written.json()["error"]


def test_the_overview_lists_each_dataset_worst_first_with_its_contract(viewed: ServeProcess) -> None:
    governance = RemoteGovernanceServiceClient(base_url=viewed.url, token=viewed.token)
    governance.record_verdict(verdict(0, (0, 0), dataset="sales.clean"))
    rows = tables(get(viewed, "/").text)["datasets"]
    assert [r[:3] for r in rows[1:]] == [["warn", "sales.orders", "sales.orders 1.0.0"],
                                         ["ok", "sales.clean", "sales.orders 1.0.0"]]
    assert rows[1][3].endswith("batch 5")
    only_ok = tables(get(viewed, "/?status=ok").text)["datasets"]
    assert [r[1] for r in only_ok[1:]] == ["sales.clean"]
    assert "No dataset matches" in get(viewed, "/?q=nothing-like-it").text


def test_the_rules_of_a_dataset_show_the_rows_that_broke_them_and_when(viewed: ServeProcess) -> None:
    rules = {r[0]: r for r in tables(get(viewed, "/datasets/sales.orders").text)["rules"][1:]}
    assert list(rules) == ["range:qty", "not_null:amount", "row_count:min"]  # failing now, then by failures
    assert rules["range:qty"][3:6] == ["failed 3 rows", "4", "2"]
    assert rules["range:qty"][6].endswith("batch 3") and rules["range:qty"][7].endswith("batch 5")
    assert rules["not_null:amount"][3:6] == ["passed 0 rows", "7", "2"]
    assert rules["not_null:amount"][6].endswith("batch 1") and rules["not_null:amount"][7].endswith("batch 3")
    assert rules["row_count:min"][3:8] == ["passed 10", "", "0", "never", "never"]


def test_picking_a_rule_lists_only_the_batches_that_broke_it(viewed: ServeProcess) -> None:
    every = tables(get(viewed, "/datasets/sales.orders").text)["batches"]
    assert [r[0] for r in every[1:]] == ["5", "4", "3", "2", "1", "0"]
    broke = tables(get(viewed, "/datasets/sales.orders?rule=not_null:amount").text)["batches"]
    assert [(r[0], r[4]) for r in broke[1:]] == [("3", "5"), ("1", "2")]


def test_a_replayed_batch_replaces_its_rule_failures(viewed: ServeProcess) -> None:
    governance = RemoteGovernanceServiceClient(base_url=viewed.url, token=viewed.token)
    governance.record_verdict(verdict(3, (0, 0)))  # batch 3 judged again, clean this time
    rules = {r[0]: r for r in tables(get(viewed, "/datasets/sales.orders").text)["rules"][1:]}
    assert rules["not_null:amount"][4:8][:2] == ["2", "1"]
    assert rules["range:qty"][4:6] == ["3", "1"] and rules["range:qty"][6].endswith("batch 5")


def test_record_text_is_escaped_everywhere(viewed: ServeProcess) -> None:
    governance = RemoteGovernanceServiceClient(base_url=viewed.url, token=viewed.token)
    evil_rule = {"key": NASTY, "rule": NASTY, "column": NASTY, "severity": "warning", "metric": f"violations.{NASTY}"}
    governance.record_verdict(verdict(0, (0, 0), dataset=NASTY, rules=(NOT_NULL, evil_rule)))
    governance.record_observation(SchemaObservation(
        dataset_id=NASTY, dataset_version="0", contract_id="sales.orders", contract_version="1.0.0",
        operation="write_stream", schema={"fields": [{"name": NASTY, "type": "string"}]}, status="ok",
        pipeline_context={"job": NASTY, "password": "hunter2"}, recorded_at=stamp(1)))
    for path in ("/", f"/datasets/{httpx.URL(NASTY).raw_path.decode()}".replace("/%3C", "/%3C"),
                 f"/datasets/{NASTY.replace('/', '%2F')}", f"/datasets/{NASTY.replace('/', '%2F')}?rule={NASTY}",
                 f"/contracts/{NASTY.replace('/', '%2F')}"):
        page = get(viewed, path)
        assert NASTY not in page.text, path
        assert "hunter2" not in page.text
    page = get(viewed, f"/datasets/{NASTY.replace('/', '%2F')}").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "password=***" in page or "password=" not in page


def test_an_unknown_dataset_or_contract_is_a_404_page_naming_what_exists(viewed: ServeProcess) -> None:
    missing = get(viewed, "/datasets/sales.nothing")
    assert missing.status_code == 404
    assert "no dataset 'sales.nothing' is kept here; known: sales.orders" in unescape(missing.text)
    assert 'href="/datasets/sales.orders"' in missing.text
    contract = get(viewed, "/contracts/sales.nothing")
    assert contract.status_code == 404 and "no contract 'sales.nothing'" in unescape(contract.text)


def test_the_stamp_changes_when_a_batch_is_recorded(viewed: ServeProcess) -> None:
    before = get(viewed, "/ui/stamp?dataset=sales.orders").json()["stamp"]
    other = get(viewed, "/ui/stamp?dataset=sales.other").json()["stamp"]
    assert get(viewed, "/ui/stamp?dataset=sales.orders").json()["stamp"] == before
    RemoteGovernanceServiceClient(base_url=viewed.url, token=viewed.token).record_verdict(verdict(6, (1, 0)))
    assert get(viewed, "/ui/stamp?dataset=sales.orders").json()["stamp"] != before
    assert get(viewed, "/ui/stamp?dataset=sales.other").json()["stamp"] == other
    fragment = get(viewed, "/datasets/sales.orders?fragment=1")
    assert fragment.headers["X-Dc43-Stamp"] != before and "<html" not in fragment.text
    assert [r[0] for r in tables(fragment.text)["batches"][1:3]] == ["6", "5"]


def test_a_data_product_lists_its_ports_their_contracts_and_the_datasets_under_them(viewed: ServeProcess) -> None:
    products = RemoteDataProductServiceClient(base_url=viewed.url, token=viewed.token)
    products.register_port("sales", "input", Port("raw", "raw.orders", "2.0.0"))
    products.register_port("sales", "output", Port("orders", "sales.orders", "1.0.0"))
    listed = tables(get(viewed, "/products").text)[""]
    assert listed[1] == ["sales", "0.2.0", "draft", "raw", "orders"]
    ports = tables(get(viewed, "/products/sales").text)["ports"]
    assert ports[1:] == [["raw", "input", "raw.orders 2.0.0", "", "none recorded"],
                         ["orders", "output", "sales.orders 1.0.0", "", "sales.orders warn"]]
    assert 'href="/datasets/sales.orders"' in get(viewed, "/products/sales").text
    missing = get(viewed, "/products/marketing")
    assert missing.status_code == 404 and 'href="/products/sales"' in missing.text


def test_an_unknown_contract_version_is_a_404_listing_the_versions(viewed: ServeProcess) -> None:
    RemoteContractServiceClient(base_url=viewed.url, token=viewed.token).put(contract_from_dict(ORDERS, "test"))
    assert get(viewed, "/contracts/sales.orders").status_code == 200
    for path in ("/contracts/sales.orders?version=9.9.9", "/contracts/sales.orders/diff?from=9.9.9&to=1.0.0"):
        missing = get(viewed, path)
        assert missing.status_code == 404 and "no version '9.9.9'" in unescape(missing.text), path
        assert 'href="/contracts/sales.orders?version=1.0.0"' in missing.text
    same = get(viewed, "/contracts/sales.orders/diff")  # one version: compared with itself
    assert same.status_code == 200 and "No change between these versions." in same.text


def test_alerts_stale_periods_and_the_queries_that_wrote_a_dataset_are_listed(viewed: ServeProcess) -> None:
    governance = RemoteGovernanceServiceClient(base_url=viewed.url, token=viewed.token)
    alert = Alert(dataset_id="sales.orders", contract="sales.orders@1.0.0", previous="ok", status="warn", batch_id=5,
                  dataset_version="5", reason="range:qty: 3 row(s) violate", at=stamp(6), folded=2)
    governance.record_alert(alert.to_dict(), {"webhook": False, "log": True})
    period = governance.record_stale({"dataset_id": "sales.orders", "since": stamp(8), "detected_at": stamp(20),
                                      "last_batch_id": 5, "frequency_s": 10.0})
    page = tables(get(viewed, "/datasets/sales.orders").text)
    assert page["alerts"][1] == ["2026-12-01 08:00:06", "ok → warn", "5", "range:qty: 3 row(s) violate (2 more folded in)",
                                 "webhook: failed, log: sent"]
    assert page["stale"][1] == ["2026-12-01 08:00:08", "still stale", "2026-12-01 08:00:20", "5", "10 s"]
    assert page["queries"][1] == ["q-1", "6", "2026-12-01 08:00:00", "2026-12-01 08:00:05", "5"]
    overview = tables(get(viewed, "/").text)["datasets"]
    assert overview[1][:2] == ["stale", "sales.orders stale since 2026-12-01 08:00:08"]
    governance.end_stale(period, stamp(30))
    assert tables(get(viewed, "/").text)["datasets"][1][:2] == ["warn", "sales.orders"]
