"""The service's tables (SQLAlchemy Core), the same on PostgreSQL and SQLite.

Documents (contracts, metrics, pipeline contexts) are JSON text. Every write the API takes is
idempotent: a verdict is keyed by (dataset, version, query, batch id), and observations, alerts and
stale periods carry a ``key`` (a digest of their content, or one the client sends) that is unique.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

contracts = sa.Table(
    "contracts", metadata,
    sa.Column("contract_id", sa.String(255), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("document_json", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
)

datasets = sa.Table(
    "datasets", metadata,
    sa.Column("dataset_id", sa.String(1024), primary_key=True),
    sa.Column("first_seen", sa.String(32), nullable=False),
    sa.Column("last_seen", sa.String(32), nullable=False),
)

dataset_versions = sa.Table(
    "dataset_versions", metadata,
    sa.Column("dataset_id", sa.String(1024), primary_key=True),
    sa.Column("dataset_version", sa.String(255), primary_key=True),
    sa.Column("contract_id", sa.String(255), nullable=False),
    sa.Column("contract_version", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
)

observations = sa.Table(
    "observations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("dataset_id", sa.String(1024), nullable=False),
    sa.Column("dataset_version", sa.String(255), nullable=False),
    sa.Column("contract_id", sa.String(255), nullable=False),
    sa.Column("contract_version", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("schema_json", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("pipeline_context_json", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("location_json", sa.Text),
    sa.Column("warnings_json", sa.Text),
    sa.Index("observations_by_dataset", "dataset_id", "id"),
)

batch_verdicts = sa.Table(
    "batch_verdicts", metadata,
    sa.Column("dataset_id", sa.String(1024), primary_key=True),
    sa.Column("dataset_version", sa.String(255), primary_key=True),
    sa.Column("query_id", sa.String(64), primary_key=True, server_default=""),
    sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("contract_id", sa.String(255), nullable=False),
    sa.Column("contract_version", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("violations", sa.BigInteger, nullable=False),
    sa.Column("metrics_json", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("commit_json", sa.Text),
    sa.Column("rules_json", sa.Text),
    sa.Index("verdicts_by_time", "dataset_id", "recorded_at"),
)

metric_requests = sa.Table(
    "metric_requests", metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("dataset_id", sa.String(1024), nullable=False),
    sa.Column("dataset_version", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16)),
    sa.Column("metrics_json", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("requested_at", sa.String(32), nullable=False),
    sa.Column("finished_at", sa.String(32)),
)

data_products = sa.Table(
    "data_products", metadata,
    sa.Column("product_id", sa.String(255), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("document_json", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("dataset_id", sa.String(1024), nullable=False),
    sa.Column("alert_json", sa.Text, nullable=False),
    sa.Column("delivered_json", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Index("alerts_by_dataset", "dataset_id", "id"),
)

stale_periods = sa.Table(
    "stale_periods", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("dataset_id", sa.String(1024), nullable=False),
    sa.Column("since", sa.String(32), nullable=False),
    sa.Column("detected_at", sa.String(32), nullable=False),
    sa.Column("ended_at", sa.String(32)),
    sa.Column("last_batch_id", sa.BigInteger),
    sa.Column("frequency_s", sa.Float, nullable=False),
    sa.Index("stale_by_dataset", "dataset_id", "id"),
)

#: one row per rule a judged batch failed (from its verdict's rules): the dataset page's per-rule
#: breakdown and its rule filter are aggregates over it, whatever the history's length
rule_failures = sa.Table(
    "rule_failures", metadata,
    sa.Column("dataset_id", sa.String(1024), primary_key=True),
    sa.Column("dataset_version", sa.String(255), primary_key=True),
    sa.Column("query_id", sa.String(64), primary_key=True),
    sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("rule_key", sa.String(512), primary_key=True),
    sa.Column("violations", sa.Float),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Index("rule_failures_by_rule", "dataset_id", "rule_key", "recorded_at"),
    sa.Index("rule_failures_by_time", "dataset_id", "recorded_at"),
)
