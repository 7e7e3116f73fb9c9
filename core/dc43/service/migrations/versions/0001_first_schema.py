"""The first schema: contracts, governance records, metric requests and data products.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def _text(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=nullable)


def _string(name: str, length: int, nullable: bool = False, primary_key: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable, primary_key=primary_key)


def upgrade() -> None:
    op.create_table("contracts", _string("contract_id", 255, primary_key=True), _string("version", 64, primary_key=True),
                    _string("status", 32), _text("document_json", False), _string("recorded_at", 32))
    op.create_table("datasets", _string("dataset_id", 1024, primary_key=True), _string("first_seen", 32),
                    _string("last_seen", 32))
    op.create_table("dataset_versions", _string("dataset_id", 1024, primary_key=True),
                    _string("dataset_version", 255, primary_key=True), _string("contract_id", 255),
                    _string("contract_version", 64), _string("recorded_at", 32))
    op.create_table("observations", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    _string("key", 64), _string("dataset_id", 1024), _string("dataset_version", 255),
                    _string("contract_id", 255), _string("contract_version", 64), _string("operation", 32),
                    _text("schema_json"), _string("status", 16), _text("pipeline_context_json", False),
                    _string("recorded_at", 32), _text("location_json"), _text("warnings_json"),
                    sa.UniqueConstraint("key"))
    op.create_index("observations_by_dataset", "observations", ["dataset_id", "id"])
    op.create_table("batch_verdicts", _string("dataset_id", 1024, primary_key=True),
                    _string("dataset_version", 255, primary_key=True),
                    sa.Column("query_id", sa.String(64), primary_key=True, server_default=""),
                    sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
                    _string("contract_id", 255), _string("contract_version", 64), _string("status", 16),
                    sa.Column("row_count", sa.BigInteger, nullable=False),
                    sa.Column("violations", sa.BigInteger, nullable=False), _text("metrics_json", False),
                    _text("reason"), _string("recorded_at", 32), _text("commit_json"), _text("rules_json"))
    op.create_index("verdicts_by_time", "batch_verdicts", ["dataset_id", "recorded_at"])
    op.create_table("metric_requests", _string("request_id", 64, primary_key=True), _string("dataset_id", 1024),
                    _string("dataset_version", 255), _string("state", 16), _string("status", 16, True),
                    _text("metrics_json"), _text("error"), _string("requested_at", 32), _string("finished_at", 32, True))
    op.create_table("data_products", _string("product_id", 255, primary_key=True), _string("version", 64, primary_key=True),
                    _string("status", 32), _text("document_json", False), _string("recorded_at", 32))
    op.create_table("alerts", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), _string("key", 64),
                    _string("dataset_id", 1024), _text("alert_json", False), _text("delivered_json", False),
                    _string("recorded_at", 32), sa.UniqueConstraint("key"))
    op.create_index("alerts_by_dataset", "alerts", ["dataset_id", "id"])
    op.create_table("stale_periods", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    _string("key", 64), _string("dataset_id", 1024), _string("since", 32), _string("detected_at", 32),
                    _string("ended_at", 32, True), sa.Column("last_batch_id", sa.BigInteger),
                    sa.Column("frequency_s", sa.Float, nullable=False), sa.UniqueConstraint("key"))
    op.create_index("stale_by_dataset", "stale_periods", ["dataset_id", "id"])


def downgrade() -> None:
    for table in ("stale_periods", "alerts", "data_products", "metric_requests", "batch_verdicts", "observations",
                  "dataset_versions", "datasets", "contracts"):
        op.drop_table(table)
