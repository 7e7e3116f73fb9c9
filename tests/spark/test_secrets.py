"""Planted secrets never reach a result, a governance row, the report, the CLI or the logs."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from dc43.cli import main
from dc43.errors import ContractViolationError
from dc43.governance import LocalGovernanceService
from dc43.report import write_report
from dc43_integrations.spark.io import write_stream_with_contract

from tests.spark.orders import stop_all

pytestmark = [pytest.mark.spark, pytest.mark.connect]

SECRETS = [f"planted-secret-{n}-Zq81" for n in range(7)]
OPTIONS = {"password": SECRETS[0], "fs.s3a.secret.key": SECRETS[1],
           "kafka.sasl.jaas.config": f'PlainLoginModule required username="u" password="{SECRETS[2]}";'}
CONTEXT = {
    "job": "orders-nightly",
    "headers": {"Authorization": f"Bearer {SECRETS[3]}"},
    "argv": ["spark-submit", "--password", SECRETS[4], "app.py"],
    "source": f"jdbc:postgresql://etl:{SECRETS[5]}@db:5432/sales",
    "note": f"retried with token={SECRETS[6]}",
}


def database_text(path: Path) -> str:
    """Every value of every table of the governance file, as text."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in db.execute(f"SELECT * FROM {table}"))


def test_no_planted_secret_is_shown_or_stored(spark, source_stream, tmp_path, services, caplog, capsys):
    caplog.set_level(logging.DEBUG, logger="dc43")
    db = tmp_path / "governance.db"
    services["governance_service"] = LocalGovernanceService(db)
    result, status = write_stream_with_contract(
        df=source_stream, contract_id="sales.orders", format="parquet", path=str(tmp_path / "main"),
        options={"checkpointLocation": str(tmp_path / "cp"), **OPTIONS}, observation_writer="inline",
        rejection_sink={"format": "parquet", "path": str(tmp_path / "rejected"), "options": dict(OPTIONS)},
        pipeline_context=CONTEXT, enforce=True, return_status=True, **services)
    with pytest.raises(ContractViolationError) as stopped:  # batch 2's duplicate id cannot be routed: it blocks
        try:
            result.details["streaming_queries"][0].processAllAvailable()
        finally:
            stop_all(result)
    report = write_report(LocalGovernanceService(db), tmp_path / "report.html").read_text()
    assert main(["verdicts", str(tmp_path / "main"), "--db", str(db), "--json"]) == 0
    shown = {
        "result": repr(result), "details": repr(result.details), "status": repr(status),
        "error": f"{stopped.value!r} {stopped.value}", "governance file": database_text(db),
        "report": report, "cli": capsys.readouterr().out, "logs": caplog.text,
    }
    leaks = {where: [s for s in SECRETS if s in text] for where, text in shown.items()}
    assert leaks == {where: [] for where in shown}
    observation = LocalGovernanceService(db).observations(str(tmp_path / "main"))[0]
    assert observation.pipeline_context["job"] == "orders-nightly"  # the rest of the context is kept
    assert len(result.details["streaming_batches"]) == 3  # the run did judge batches
