"""The service's pages in real headless Chromium (Debian's, driven by Playwright) against a real
``dc43 serve`` fed by a real stream with hand-counted violations.

With ``DC43_UI_SCREENSHOTS=DIR`` the test also saves a screenshot of each page it visits in DIR
(the ones in ``docs/images`` come from it); whatever the setting, a failing test leaves one of each
open page in its tmp folder.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dc43_http.clients import (
    RemoteContractServiceClient,
    RemoteDataQualityServiceClient,
    RemoteGovernanceServiceClient,
)
from dc43_integrations.spark.io import StaticDatasetLocator, read_stream_with_contract, write_stream_with_contract
from open_data_contract_standard.model import OpenDataContractStandard

from tests.parquet_files import batch_files
from tests.service_process import ServeProcess
from tests.spark.orders import BATCHES, SCHEMA

pytestmark = [pytest.mark.service, pytest.mark.spark]
CHROMIUM = Path("/usr/bin/chromium")
LIVE_WITHIN_MS = 5000
# BATCHES under this contract: batch 0 clean (ok), batch 1 two negative amounts (warn), batch 2 one
# unknown currency (warn); then, while the page is open, batch 3 one negative amount (warn).
#: the source's folder: its path, shown unbroken as the write's lineage input, must not widen a phone's page
LONG_FOLDER = "raw-orders-landing-zone-" + "x" * 60
LATE_BATCH = [(8, "hal", -3.0, "EUR"), (9, "ida", 2.0, "USD")]


def orders(version: str, *, currencies: list[str]) -> OpenDataContractStandard:
    return OpenDataContractStandard.model_validate({
        "apiVersion": "3.0.2", "kind": "DataContract", "id": "sales.orders", "version": version, "status": "active",
        "schema": [{"name": "orders", "properties": [
            {"name": "order_id", "physicalType": "bigint", "required": True},
            {"name": "customer", "physicalType": "string"},
            {"name": "amount", "physicalType": "double",
             "quality": [{"mustBeGreaterOrEqualTo": 0, "severity": "warning"}]},
            {"name": "currency", "physicalType": "string",
             "quality": [{"rule": "enum", "mustBe": currencies, "severity": "warning"}]},
        ]}]})


@pytest.fixture
def service(postgres: Any, tmp_path: Path) -> Iterator[ServeProcess]:
    from tests.service.conftest import fresh_database

    process = ServeProcess(fresh_database(postgres), tmp_path / "service").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A Chromium browser; on failure, a screenshot of every page still open goes to ``tmp_path``."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is needed: apt-get install -y chromium (the nox tests session installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                for n, context in enumerate(launched.contexts):
                    for m, page in enumerate(context.pages):
                        page.screenshot(path=str(tmp_path / f"failed-{n}-{m}.png"), full_page=True)
            launched.close()


def drain(queries: list[Any]) -> None:
    for query in queries:
        query.processAllAvailable()


def shoot(page: Any, name: str) -> None:
    """Save the page for the docs when ``DC43_UI_SCREENSHOTS`` names a folder."""
    folder = os.environ.get("DC43_UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"ui-{name}.png"), full_page=False)


def cells(page: Any, row: str) -> list[str]:
    return [" ".join(c.split()) for c in page.locator(f"{row} td").all_inner_texts()]


def test_the_pages_show_a_live_stream_its_broken_rules_and_its_contract(
        spark: Any, service: ServeProcess, browser: Any, tmp_path: Path) -> None:
    contracts = RemoteContractServiceClient(base_url=service.url, token=service.token)
    contracts.put(orders("1.0.0", currencies=["EUR", "USD", "GBP"]))
    contracts.put(orders("1.1.0", currencies=["EUR", "USD"]))  # GBP no longer allowed: a rule tightened
    services = {"contract_service": contracts,
                "data_quality_service": RemoteDataQualityServiceClient(base_url=service.url, token=service.token),
                "governance_service": RemoteGovernanceServiceClient(base_url=service.url, token=service.token)}
    source = batch_files(spark, SCHEMA, BATCHES[:3], tmp_path / LONG_FOLDER)
    df, _ = read_stream_with_contract(spark=spark, contract_id="sales.orders", expected_contract_version="==1.0.0",
                                      format="parquet", path=source, options={"maxFilesPerTrigger": "1"}, **services)
    result = write_stream_with_contract(
        df=df, contract_id="sales.orders", expected_contract_version="==1.0.0", format="parquet",
        path=str(tmp_path / "out"), options={"checkpointLocation": str(tmp_path / "cp")}, enforce=False,
        dataset_locator=StaticDatasetLocator(dataset_id="sales.orders"), **services)
    queries = result.details["streaming_queries"]
    try:
        drain(queries)
        dataset_id = "sales.orders"

        refused = browser.new_context().new_page()
        refused.goto(f"{service.url}/datasets/{dataset_id.replace('/', '%2F')}")
        assert refused.url.startswith(f"{service.url}/signin?next=")
        assert refused.locator("h1").inner_text() == "Sign in to this dc43 service"
        assert dataset_id not in refused.locator("main").inner_text() and refused.locator("table").count() == 0
        shoot(refused, "signin")

        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(service.url + "/")
        page.fill("input[name=token]", service.token)
        page.click("button[type=submit]")
        page.wait_for_url(service.url + "/")
        row = page.locator(f'tr[data-dataset-id="{dataset_id}"]')
        assert row.locator(".badge").inner_text() == "warn"
        assert "sales.orders 1.0.0" in row.inner_text()
        shoot(page, "overview")

        row.locator("a").first.click()
        page.wait_for_selector("svg.dc43-chart circle")
        ge = cells(page, 'tr[data-rule="ge:amount"]')
        enum = cells(page, 'tr[data-rule="enum:currency"]')
        assert ge[1:6] == ["amount", "warning", "passed 0 rows", "2", "1"]
        assert ge[6].endswith("batch 1") and ge[7].endswith("batch 1")
        assert enum[1:6] == ["currency", "warning", "failed 1 row", "1", "1"]
        assert enum[6].endswith("batch 2") and enum[7].endswith("batch 2")
        assert page.locator("svg.dc43-chart circle[data-series=violations]").count() == 3
        assert page.locator("#lineage a").all_inner_texts() == [source]  # the read, kept by dc43, linked
        shoot(page, "dataset")

        page.click('tr[data-rule="ge:amount"] a.rule-filter')
        page.wait_for_url(re.compile(r".*rule=ge%3Aamount.*"))
        assert page.locator("table.batches tbody tr").evaluate_all("rows => rows.map(r => r.dataset.batchId)") == ["1"]
        assert page.locator("#batches h2").text_content() == "Batches that broke ge:amount"
        shoot(page, "rule")

        page.evaluate("window.__not_reloaded = true")
        batch_files(spark, SCHEMA, [LATE_BATCH], tmp_path / LONG_FOLDER, first=3)
        drain(queries)
        recorded = time.monotonic()
        page.wait_for_selector('table.batches tr[data-batch-id="3"]', timeout=LIVE_WITHIN_MS)
        assert time.monotonic() - recorded < LIVE_WITHIN_MS / 1000
        assert page.evaluate("window.__not_reloaded") is True
        assert cells(page, 'tr[data-rule="ge:amount"]')[4:6] == ["3", "2"]
        assert page.locator("table.batches tbody tr").evaluate_all("rows => rows.map(r => r.dataset.batchId)") == ["3", "1"]

        page.goto(f"{service.url}/contracts/sales.orders")
        assert page.locator("table.versions tbody tr").count() == 2
        assert "currency: must be one of" in page.locator("ul.rules-text").inner_text().replace("`", "")
        shoot(page, "contract")
        page.click("text=changes from 1.0.0")
        change = page.locator('table.changes tr[data-kind="rule_tightened"]')
        assert cells(page, 'table.changes tr[data-kind="rule_tightened"]')[0] == "breaking"
        assert "currency" in change.inner_text()
        assert page.locator(".summary").inner_text().startswith("1 breaking change")
        shoot(page, "diff")

        phone = page.context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        for path in ("/", f"/datasets/{dataset_id}", "/contracts/sales.orders"):
            phone.goto(service.url + path)
            wider = phone.evaluate("""() => [...document.querySelectorAll('main *')]
                .filter((e) => !e.closest('.scroll') && e.getBoundingClientRect().right > window.innerWidth)
                .map((e) => e.tagName + '.' + e.className)""")
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{path} is wider: {wider}"
        shoot(phone, "phone")
    finally:
        for query in queries:
            query.stop()
