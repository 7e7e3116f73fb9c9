"""OpenLineage names for the datasets dc43 reads and writes.

They follow OpenLineage's naming conventions, so that other producers (Spark's own
OpenLineage listener, Airflow) name the same data the same way:

* files: namespace ``file`` and the absolute path locally; ``scheme://authority`` and the path
  for ``s3``, ``gs``, ``hdfs``, ``abfss``...;
* a catalogue table: its location, named as files are, with a ``symlinks`` facet holding the
  table's qualified name;
* Kafka: namespace ``kafka://<first bootstrap server>`` and the topic;
* anything else (``rate``, ``memory``): namespace the format, name the table, path or format.
"""

from __future__ import annotations

import logging
import os
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from dc43.runs import DatasetRef

log = logging.getLogger(__name__)


class Named(NamedTuple):
    """A dataset's OpenLineage name, and the ``symlinks`` facet's identifiers when it has other names."""

    namespace: str
    name: str
    symlinks: tuple[dict[str, str], ...] = ()
    #: False for a table that does not exist (yet): it is named by its name until it has a location
    located: bool = True


def location_name(location: str) -> tuple[str, str]:
    """``(namespace, name)`` of a file location."""
    parts = urlsplit(location)
    if not parts.scheme or parts.scheme == "file" or len(parts.scheme) == 1:  # ``C:`` is a drive
        path = parts.path if parts.scheme == "file" else location
        return "file", os.path.abspath(path)
    return f"{parts.scheme}://{parts.netloc}", parts.path or "/"


def datasets(ref: DatasetRef, spark: Any) -> list[Named]:
    """The names of each dataset ``ref`` stands for (a Kafka read of several topics is several)."""
    if ref.format == "kafka":
        server = (ref.options.get("kafka.bootstrap.servers") or "unknown").split(",")[0].strip()
        topics = (ref.options.get("topic") or ref.options.get("subscribe") or ref.options.get("subscribePattern")
                  or ref.table or ref.path or "unknown")
        return [Named(f"kafka://{server}", topic.strip()) for topic in topics.split(",") if topic.strip()]
    if ref.table and ref.format not in ("memory",):
        return [_table(ref.table, spark)]
    if ref.path:
        return [Named(*location_name(ref.path))]
    return [Named(ref.format, ref.table or ref.path or ref.format)]


def _table(table: str, spark: Any) -> Named:
    """A table named by where it lives, and by its name in a ``symlinks`` facet."""
    qualified, location = table, None
    try:
        rows = spark.sql(f"DESCRIBE TABLE EXTENDED {table}").collect()
        info = {str(r[0]).strip(): str(r[1]).strip() for r in rows if r[0] and r[1] is not None}
        location = info.get("Location")
        parts = [info.get(k) for k in ("Catalog", "Database", "Table") if info.get(k)]
        qualified = ".".join(parts) if len(parts) >= 2 else table
    except Exception:  # not there (yet): the name alone still tells a catalogue which table it is
        log.debug("could not find where table %s lives", table, exc_info=True)
    if not location:
        return Named("spark_catalog", qualified, located=False)
    namespace, name = location_name(location)
    return Named(namespace, name, ({"namespace": namespace, "name": qualified, "type": "TABLE"},))
