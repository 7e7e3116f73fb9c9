"""The service's token is never shown nor kept: not in results or their repr, logs on either side,
the service's database, OpenLineage events, the report, the CLI's output or error messages."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dc43.errors import ServiceAuthError
from dc43.plugins import reset_plugin_manager
from dc43.settings import Settings
from dc43_http.clients import RemoteContractServiceClient, RemoteGovernanceServiceClient
from dc43_integrations.spark.io import read_stream_with_contract, write_stream_with_contract

from tests.http_receiver import Receiver
from tests.parquet_files import write_parquet
from tests.postgres_server import PostgresServer
from tests.service.conftest import fresh_database
from tests.service_process import ServeProcess
from tests.spark.orders import BATCHES, SCHEMA, drained, orders_contract

pytestmark = [pytest.mark.service, pytest.mark.spark]

TOKEN = "svc-token-planted-7Qx2-never-shown"


def database_text(server: PostgresServer, url: str) -> str:
    """Every value of every table of the service's PostgreSQL database, as text."""
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=dc43 dbname={url.rsplit('/', 1)[1]}") as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return "\n".join(repr(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"'))


def test_the_token_is_nowhere(spark, postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="dc43")
    url = fresh_database(postgres)
    service = ServeProcess(url, tmp_path / "service", token=TOKEN).start()
    lineage = Receiver()
    env = {"DC43_SERVICE_URL": service.url, "DC43_SERVICE_TOKEN": TOKEN, "OPENLINEAGE_URL": lineage.url,
           "OPENLINEAGE_NAMESPACE": "dc43-tests"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_plugin_manager()
    try:
        RemoteContractServiceClient().put(orders_contract())
        source = tmp_path / "in"
        source.mkdir()
        for index, rows in enumerate(BATCHES):
            write_parquet(spark, SCHEMA, rows, source / f"part-{index}.parquet")
        df, read_status = read_stream_with_contract(spark=spark, contract_id="sales.orders", format="parquet",
                                                    path=str(source), options={"maxFilesPerTrigger": "1"})
        result = drained(write_stream_with_contract(
            df=df, contract_id="sales.orders", format="parquet", path=str(tmp_path / "out"), enforce=False,
            options={"checkpointLocation": str(tmp_path / "cp")}, pipeline_context={"job": "orders-nightly"}))
        with pytest.raises(ServiceAuthError) as refused:
            RemoteGovernanceServiceClient(token=TOKEN[:-1]).datasets()
        cli = {**os.environ, **env}
        report = subprocess.run([sys.executable, "-m", "dc43.cli", "report", "--output", str(tmp_path / "r.html")],
                                cwd=tmp_path, env=cli, capture_output=True, text=True, timeout=120)
        verdicts = subprocess.run([sys.executable, "-m", "dc43.cli", "verdicts", str(tmp_path / "out")],
                                  cwd=tmp_path, env=cli, capture_output=True, text=True, timeout=120)
        assert report.returncode == 0 and verdicts.returncode == 0, report.stderr + verdicts.stderr
        shown = {
            "result": f"{result!r} {result.details!r} {read_status!r}", "settings": repr(Settings.load()),
            "error": f"{refused.value!r} {refused.value}", "logs": caplog.text, "service log": service.log(),
            "database": database_text(postgres, url), "lineage": repr(lineage.events),
            "report": (tmp_path / "r.html").read_text(), "cli": report.stdout + report.stderr + verdicts.stdout,
        }
    finally:
        service.stop()
        lineage.close()
    assert {where: TOKEN in text for where, text in shown.items()} == {where: False for where in shown}
    assert TOKEN[:-1] not in shown["error"] and TOKEN[:-1] not in shown["service log"]
    assert "orders-nightly" in shown["database"] and len(lineage.events) >= 2  # what was recorded and sent is there
    assert " 3 " in verdicts.stdout or "block" in verdicts.stdout  # the CLI did show the verdicts
