"""dc43 plugin: Delta Lake tables (``format="delta"``), by path or by table name.

Streaming and batch reads and writes; the contract's schema creates a table that does not
exist yet (column comments from the descriptions, NOT NULL from ``required``); micro-batches
the ``inline`` writer publishes, to the sink and to a rejection sink, are Delta's idempotent
writes keyed by the query (``txnAppId``/``txnVersion``), and each records the table version
it committed.  Needs ``pip install 'dc43[delta]'`` and a session built with :func:`configure`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dc43 import hookimpl

#: the Delta Lake build matching pyspark 4.2 (Maven coordinates, for ``spark.jars.packages``)
DELTA_PACKAGE = "io.delta:delta-spark_4.2_2.13:4.4.0"


def configure(builder: Any, *, packages: bool = True) -> Any:
    """``builder`` (a ``SparkSession.Builder``) set up for Delta Lake: its SQL extension and catalog,
    and with ``packages`` the Delta jars fetched through ``spark.jars.packages`` (pass False when
    ``spark.jars`` or the cluster provides them)."""
    from dc43_delta.tables import CATALOG, EXTENSION

    builder = builder.config("spark.sql.extensions", EXTENSION).config("spark.sql.catalog.spark_catalog", CATALOG)
    return builder.config("spark.jars.packages", DELTA_PACKAGE) if packages else builder


@hookimpl
def dc43_dataset_formats() -> Mapping[str, Any]:
    from dc43_delta.format import DeltaFormat

    return {"delta": DeltaFormat()}
