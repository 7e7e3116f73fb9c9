"""The service database's migrations on PostgreSQL and SQLite: a database kept at an older revision
upgrades with nothing lost, and what the new revision derives is filled from the rows kept."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command
from dc43.service import tables as t
from dc43.service.database import ServiceDatabase, _alembic

pytestmark = pytest.mark.service
RULES = [{"key": "not_null:amount", "rule": "not_null", "column": "amount", "severity": "warning",
          "metric": "violations.not_null:amount", "passed": False, "violations": 4},
         {"key": "range:qty", "rule": "mustBeBetween", "column": "qty", "severity": "error",
          "metric": "violations.range:qty", "passed": True, "violations": 0},
         {"key": "latency:ts", "rule": "latency", "column": "ts", "severity": "warning",
          "metric": "metrics.latency:ts", "passed": None, "violations": None}]


def _verdict(batch_id: int, rules: list | None) -> dict:
    return {"dataset_id": "sales.orders", "dataset_version": str(batch_id), "query_id": "q", "batch_id": batch_id,
            "contract_id": "sales.orders", "contract_version": "1.0.0", "status": "warn", "row_count": 10,
            "violations": 4, "metrics_json": "{}", "reason": None, "recorded_at": f"2026-12-01T08:00:0{batch_id}.000000Z",
            "commit_json": None, "rules_json": None if rules is None else json.dumps(rules)}


def test_a_first_revision_database_gets_the_rule_failures_of_the_verdicts_it_kept(database_url: str) -> None:
    database = ServiceDatabase(database_url)
    with database.engine.begin() as connection:
        command.downgrade(_alembic(connection), "0001")
    assert database.revision() == "0001"
    with database.engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO batch_verdicts (dataset_id, dataset_version, query_id, batch_id, "
                                   "contract_id, contract_version, status, row_count, violations, metrics_json, reason, "
                                   "recorded_at, commit_json, rules_json) VALUES (:dataset_id, :dataset_version, "
                                   ":query_id, :batch_id, :contract_id, :contract_version, :status, :row_count, "
                                   ":violations, :metrics_json, :reason, :recorded_at, :commit_json, :rules_json)"),
                           [_verdict(0, RULES), _verdict(1, None), _verdict(2, RULES[1:])])
    database.upgrade()
    assert database.revision() == database.head()
    with database.engine.connect() as connection:
        failures = connection.execute(sa.select(t.rule_failures.c.batch_id, t.rule_failures.c.rule_key,
                                                t.rule_failures.c.violations)).all()
        kept = connection.execute(sa.select(sa.func.count()).select_from(t.batch_verdicts)).scalar_one()
    assert [tuple(f) for f in failures] == [(0, "not_null:amount", 4.0)]
    assert kept == 3
    database.dispose()
