"""The ``delta`` dataset format."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from dc43.errors import InvalidArgumentError
from dc43.formats import DatasetFormat, DatasetTarget, split_writer_options

import dc43_delta.tables as tables

#: options that set the streaming query, never a Delta batch write
QUERY_OPTIONS = ("checkpointLocation",)
#: what Spark and Delta say when there is no table to read
MISSING = ("PATH_NOT_FOUND", "TABLE_OR_VIEW_NOT_FOUND", "DELTA_SCHEMA_NOT_SET", "DELTA_MISSING_DELTA_TABLE",
           "DELTA_TABLE_NOT_FOUND", "DELTA_PATH_DOES_NOT_EXIST")


class DeltaFormat(DatasetFormat):
    """Delta Lake tables by path or name: streams, batches and idempotent micro-batches."""

    name = "delta"
    description = "Delta Lake tables, by path or by table name"
    keys_replays = True

    def read_stream(self, spark: Any, target: DatasetTarget) -> Any:
        tables.check_session(spark)
        tables.check_table(spark, target)
        reader = spark.readStream.format("delta").options(**target.options)
        return _existing(lambda: reader.table(target.table) if target.table else reader.load(self._path(target)),
                         target)

    def read(self, spark: Any, target: DatasetTarget) -> Any:
        tables.check_session(spark)
        tables.check_table(spark, target)
        reader = spark.read.format("delta").options(**target.options)
        return _existing(lambda: reader.table(target.table) if target.table else reader.load(self._path(target)),
                         target)

    def write_stream(self, df: Any, target: DatasetTarget, *, mode: str,
                     trigger: Mapping[str, Any] | None) -> Any:
        query_name, options = split_writer_options(target.options)
        writer = df.writeStream.format("delta").outputMode(mode).options(**options)
        if query_name:
            writer = writer.queryName(query_name)
        if trigger:
            writer = writer.trigger(**trigger)
        return writer.toTable(target.table) if target.table else writer.start(self._path(target))

    def write(self, df: Any, target: DatasetTarget, *, mode: str) -> Mapping[str, Any]:
        tag = f"dc43 write {uuid.uuid4().hex}"
        self._save(df.write.format("delta").mode(mode).options(**_batch_options(target))
                   .option("userMetadata", tag), target)
        return {"delta_version": tables.committed_version(df.sparkSession, target, tag)}

    def write_micro_batch(self, df: Any, target: DatasetTarget, *, batch_id: int) -> Mapping[str, Any] | None:
        """Append the batch as one Delta commit; keyed by ``target.writer_id`` (set by the ``inline``
        writer), a replayed batch is skipped by Delta itself and its first commit's version returned."""
        writer = df.write.format("delta").mode("append").options(**_batch_options(target))
        if not target.writer_id:  # outside the inline writer: at least once, as a plain append
            self._save(writer, target)
            return None
        tag = tables.commit_tag(target.writer_id, batch_id)
        self._save(writer.option("txnAppId", target.writer_id).option("txnVersion", str(batch_id))
                   .option("userMetadata", tag), target)
        return {"delta_version": tables.committed_version(df.sparkSession, target, tag)}

    def sink_commits(self, spark: Any, target: DatasetTarget, query_id: str) -> Mapping[int, Mapping[str, Any]]:
        """The versions Delta's streaming sink committed for query ``query_id``, by batch id."""
        return tables.streaming_commits(spark, target, query_id)

    def check_session(self, spark: Any) -> None:
        tables.check_session(spark)

    def check_batch_writes(self, spark: Any, target: DatasetTarget) -> None:
        tables.identifier(target)  # raises without a location
        tables.check_table(spark, target)

    def prepare(self, spark: Any, target: DatasetTarget) -> None:
        """Create the table from the contract unless it exists (a malformed name or an unknown
        database refused first)."""
        tables.check_table(spark, target)
        tables.ensure_table(spark, target)

    @staticmethod
    def _path(target: DatasetTarget) -> str:
        tables.identifier(target)  # raises without a location
        return str(target.path)

    def _save(self, writer: Any, target: DatasetTarget) -> None:
        if target.table:
            writer.saveAsTable(target.table)
        else:
            writer.save(self._path(target))


def _existing(load: Any, target: DatasetTarget) -> Any:
    """The DataFrame ``load()`` makes, resolved; no table there is an error naming where it looked."""
    from pyspark.errors import AnalysisException

    try:
        df = load()
        df.schema  # noqa: B018 - resolves the plan (on Connect: asks the server)
    except AnalysisException as exc:
        if exc.getCondition() not in MISSING:
            raise
        where = f"table '{target.table}'" if target.table else f"path '{target.path}'"
        raise InvalidArgumentError(f"there is no Delta table at {where} ({exc.getCondition()}); check the "
                                   "name, or write the dataset first") from None
    return df


def _batch_options(target: DatasetTarget) -> dict[str, str]:
    _, options = split_writer_options(target.options)
    return {key: value for key, value in options.items() if key not in QUERY_OPTIONS}
