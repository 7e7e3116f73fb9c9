"""The datasets a DataFrame reads, found in its plan (for lineage).

On classic Spark (and a cluster) the JVM plan's leaves name their source; on Spark Connect
the client's plan holds the reads it will send.  Only what identifies a dataset is kept:
the format, paths or table name, and Kafka's servers and topics — never other options,
which may hold credentials.  A leaf that reads no dataset (``range``, local rows) is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from dc43.runs import DatasetRef

log = logging.getLogger(__name__)

#: the options that say which dataset a source reads
IDENTIFYING_OPTIONS = ("path", "kafka.bootstrap.servers", "subscribe", "subscribePattern", "assign", "topic")


def input_datasets(df: Any) -> tuple[DatasetRef, ...]:
    """Every dataset ``df`` reads, each once, in plan order; empty when the plan cannot be read."""
    try:
        found = list(_connect(df) if _is_connect(df) else _classic(df))
    except Exception:  # lineage without inputs beats a write refused for it
        log.warning("could not read which datasets this DataFrame reads; lineage will name no input", exc_info=True)
        return ()
    unique: dict[tuple, DatasetRef] = {}
    for ref in found:
        unique.setdefault((ref.format, ref.path, ref.table, tuple(sorted(ref.options.items()))), ref)
    return tuple(unique.values())


def dataset_refs(fmt: str, *, paths: Any = (), table: str | None = None,
                 options: Mapping[str, str] | None = None) -> list[DatasetRef]:
    """One reference per path read (a read of several folders reads several datasets)."""
    kept = {k: str(v) for k, v in (options or {}).items() if k in IDENTIFYING_OPTIONS}
    located = list(paths) or [kept.get("path")]
    kept.pop("path", None)
    return [DatasetRef(format=fmt.lower(), path=path, table=table, options=kept) for path in located]


def _is_connect(df: Any) -> bool:
    return type(df).__module__.startswith("pyspark.sql.connect")


# -- Spark Connect: the reads in the plan the client sends ------------------
def _connect(df: Any) -> Iterator[DatasetRef]:
    plan = df._plan.to_proto(df.sparkSession.client)
    yield from _reads(plan.root)


def _reads(message: Any) -> Iterator[DatasetRef]:
    if message.DESCRIPTOR.name == "Read":
        if message.HasField("data_source"):
            source = message.data_source
            yield from dataset_refs(source.format or "unknown", paths=list(source.paths), options=dict(source.options))
        elif message.HasField("named_table"):
            yield from dataset_refs("table", table=message.named_table.unparsed_identifier)
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        for child in ([value] if hasattr(value, "DESCRIPTOR") else value):  # a message, or repeated ones
            if hasattr(child, "DESCRIPTOR"):
                yield from _reads(child)


# -- classic Spark: the leaves of the JVM plan ------------------------------
def _classic(df: Any) -> Iterator[DatasetRef]:
    convert = df.sparkSession._jvm.scala.jdk.javaapi.CollectionConverters
    leaves = df._jdf.queryExecution().logical().collectLeaves().iterator()
    while leaves.hasNext():
        yield from _leaf(leaves.next(), convert)


def _leaf(leaf: Any, convert: Any) -> list[DatasetRef]:
    kind = leaf.getClass().getSimpleName()
    if kind == "UnresolvedDataSource":  # spark.readStream.format(...).load(...), not analysed yet
        return dataset_refs(leaf.format(), paths=list(convert.asJava(leaf.paths())),
                           options=dict(convert.asJava(leaf.options())))
    if kind == "StreamingRelation":  # a V1 streaming source (files, Delta)
        source = leaf.dataSource()
        return dataset_refs(source.className(), paths=list(convert.asJava(source.paths())),
                           options=dict(convert.asJava(source.options())))
    if kind == "StreamingRelationV2":  # a V2 streaming source (Kafka, rate)
        return dataset_refs(leaf.sourceName(), options=dict(leaf.extraOptions().asCaseSensitiveMap()))
    if kind == "UnresolvedRelation":  # spark.read.table / readStream.table
        return dataset_refs("table", table=".".join(convert.asJava(leaf.multipartIdentifier())))
    if kind == "LogicalRelation":  # an analysed batch read of files or a catalogue table
        table = leaf.catalogTable()
        if table.isDefined():
            return dataset_refs("table", table=table.get().identifier().unquotedString())
        location = leaf.relation().location()
        return dataset_refs(leaf.relation().fileFormat().toString(),
                           paths=[str(p) for p in convert.asJava(location.rootPaths())])
    if kind == "DataSourceV2Relation":
        return dataset_refs("table", table=leaf.table().name())
    return []
