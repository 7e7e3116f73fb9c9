"""The rules each judged batch failed, one row each, filled from the verdicts already kept.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    failures = op.create_table(
        "rule_failures",
        sa.Column("dataset_id", sa.String(1024), primary_key=True),
        sa.Column("dataset_version", sa.String(255), primary_key=True),
        sa.Column("query_id", sa.String(64), primary_key=True),
        sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("rule_key", sa.String(512), primary_key=True),
        sa.Column("violations", sa.Float),
        sa.Column("recorded_at", sa.String(32), nullable=False),
    )
    op.create_index("rule_failures_by_rule", "rule_failures", ["dataset_id", "rule_key", "recorded_at"])
    op.create_index("rule_failures_by_time", "rule_failures", ["dataset_id", "recorded_at"])
    verdicts = sa.table("batch_verdicts", *(sa.column(name) for name in (
        "dataset_id", "dataset_version", "query_id", "batch_id", "recorded_at", "rules_json")))
    connection = op.get_bind()
    rows = connection.execute(sa.select(verdicts).where(verdicts.c.rules_json.is_not(None)))
    for chunk in iter(lambda: rows.fetchmany(1000), []):
        failed = [{"dataset_id": r.dataset_id, "dataset_version": r.dataset_version, "query_id": r.query_id,
                   "batch_id": r.batch_id, "rule_key": key, "violations": violations, "recorded_at": r.recorded_at}
                  for r in chunk for key, violations in {
                      rule["key"]: rule.get("violations") for rule in json.loads(r.rules_json)
                      if rule.get("passed") is False}.items()]
        if failed:
            op.bulk_insert(failures, failed)


def downgrade() -> None:
    op.drop_table("rule_failures")
