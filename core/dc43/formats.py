"""Dataset formats: how a resolved dataset target is read and written with Spark.

Plugins contribute :class:`DatasetFormat` objects through the
``dc43_dataset_formats`` hook.  pyspark objects only flow through the method
arguments, so importing this module never imports pyspark.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from dc43.errors import Dc43Error, InvalidArgumentError
from dc43.redaction import redact_options

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

OPERATIONS = ("read_stream", "write_stream", "read", "write")

#: A string column a source may add: the reason a row could not be decoded, or NULL.
#: The helpers count non-null values as ``violations.decode`` and never write the column.
DECODE_ERROR_COLUMN = "_dc43_decode_error"
#: The micro-batch a row was written in, added by idempotent micro-batch writes.
BATCH_ID_COLUMN = "_dc43_batch_id"
#: On rows sent to a rejection sink: the keys of the rules the row broke.
REJECTED_RULES_COLUMN = "_dc43_rejected_rules"


def commits(**said: Any) -> dict[str, dict[str, Any]]:
    """What writes committed, by role (``sink``, ``rejection_sink``), from what each write returned:
    only the mappings a format gave (``{"sink": {"delta_version": 3}}``)."""
    return {role: dict(commit) for role, commit in said.items() if isinstance(commit, Mapping) and commit}


@attrs.frozen
class StreamRead:
    """What ``read_stream`` may return instead of a bare DataFrame: the DataFrame plus
    queries the format started for it (for example a dead-letter writer)."""

    df: Any
    queries: tuple[Any, ...] = ()


@attrs.frozen
class DatasetTarget:
    """Where and how a dataset is read or written, fully resolved."""

    format: str
    dataset_id: str
    dataset_version: str
    path: str | None = None
    table: str | None = None
    options: Mapping[str, str] = attrs.field(factory=dict, repr=lambda options: repr(redact_options(options)))
    server: Any = None
    #: the files or folders a batch read loads together (versioned layouts); ``path`` is their root
    paths: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    contract: Any = attrs.field(default=None, repr=lambda c: f"<contract {c.id}@{c.version}>" if c else "None")
    #: a rejection sink: rows the contract's rules turned away, with the rules they broke
    #: (:data:`REJECTED_RULES_COLUMN`), so a table made for them leaves the contract's constraints out
    rejects: bool = False
    #: who writes this target's micro-batches: the same across restarts on one checkpoint, new on a
    #: new one (set by the ``inline`` writer for formats with :attr:`DatasetFormat.keys_replays`)
    writer_id: str | None = None

    def describe(self) -> dict[str, Any]:
        """JSON-safe description without options (they may hold secrets)."""
        return {k: v for k, v in (("format", self.format), ("path", self.path),
                                  ("table", self.table)) if v is not None}


class StagedBatch(Protocol):
    """A micro-batch written aside: publish it or throw it away."""

    def commit(self) -> None:
        """Publish the staged rows (those of route 0, when staged by route)."""

    def abort(self) -> None:
        """Drop everything staged."""

    def read(self, *, rejected_only: bool) -> DataFrame:
        """The rows staged by route, with the route column (only route != 0 with ``rejected_only``)."""


class UnsupportedOperationError(Dc43Error):
    """A format was asked for an operation it does not support."""


class DatasetFormat:
    """Base class for format adapters; override the operations the format supports."""

    name: str = ""
    description: str = ""

    def supports(self, operation: str) -> bool:
        """Whether this format implements ``operation`` (one of :data:`OPERATIONS`)."""
        return getattr(type(self), operation) is not getattr(DatasetFormat, operation)

    def read_stream(self, spark: SparkSession, target: DatasetTarget) -> DataFrame:
        raise self._unsupported("read_stream")

    def write_stream(self, df: DataFrame, target: DatasetTarget, *, mode: str,
                     trigger: Mapping[str, Any] | None) -> StreamingQuery:
        raise self._unsupported("write_stream")

    def read(self, spark: SparkSession, target: DatasetTarget) -> DataFrame:
        raise self._unsupported("read")

    def write(self, df: DataFrame, target: DatasetTarget, *, mode: str) -> None:
        raise self._unsupported("write")

    #: Whether :meth:`write_micro_batch` makes a replay idempotent by ``target.writer_id`` and the
    #: batch id (a transactional table's own idempotent writes); the ``inline`` writer then sets it.
    keys_replays: bool = False

    def prepare(self, spark: SparkSession, target: DatasetTarget) -> None:
        """Create what writing ``target`` needs (a table, from ``target.contract``), on the caller's
        side, once every check passed and before any query starts.  Default: nothing."""

    def write_micro_batch(self, df: DataFrame, target: DatasetTarget, *,
                          batch_id: int) -> Mapping[str, Any] | None:
        """Write one micro-batch from inside ``foreachBatch``; return what it committed, if the
        format can say (JSON-safe, for example ``{"delta_version": 7}``: kept with the verdict).

        The ``inline`` observation writer calls it for its sink, and for the rejection sink,
        once the batch's verdict lets the rows through.  ``df`` is a batch DataFrame.

        Default: append it through the format's batch :meth:`write` (``mode="append"``).
        Spark replays the last uncommitted micro-batch after a restart, and the default then
        appends it again: delivery is at-least-once unless the format overrides this method
        (file formats under a path replace the batch's ``_dc43_batch_id=N`` partition).
        A format without batch :meth:`write` raises :class:`UnsupportedOperationError`;
        check :meth:`supports_micro_batches` before starting a query.
        """
        if not self.supports("write"):
            raise self._unsupported("write")
        self.write(df, target, mode="append")

    def sink_commits(self, spark: SparkSession, target: DatasetTarget,
                     query_id: str) -> Mapping[int, Mapping[str, Any]]:
        """What the streaming sink query ``query_id`` committed to ``target``, by batch id, for its
        latest batches (``{7: {"delta_version": 12}}``), kept with the verdicts of writers that
        leave the sink to Spark (``foreach-batch``, ``observe``).  Default: nothing to say."""
        return {}

    def supports_micro_batches(self) -> bool:
        """Whether :meth:`write_micro_batch` works: the format supports batch ``write`` or
        overrides ``write_micro_batch``."""
        overridden = type(self).write_micro_batch is not DatasetFormat.write_micro_batch
        return overridden or self.supports("write")

    #: prefixes of the ``dc43.*`` options the format reads (``dc43.deadLetter.`` for Kafka); any other
    #: ``dc43.*`` option is refused, as the format would ignore it
    dc43_options: tuple[str, ...] = ()

    def check_target(self, target: DatasetTarget, operation: str) -> None:
        """Raise, before any query starts, on what ``target`` gives that the format would ignore:
        by default a ``dc43.*`` option it does not read."""
        ignored = sorted(key for key in target.options
                         if key.startswith("dc43.") and not key.startswith(self.dc43_options or ("\0",)))
        if ignored:
            raise InvalidArgumentError(f"format '{self.name}' does not read option(s) {', '.join(ignored)}: remove "
                                       "them, or use a format that reads them (dc43.deadLetter.* and dc43.metadata "
                                       "are Kafka's)")

    def check_session(self, spark: SparkSession) -> None:
        """Raise, naming the fix, when ``spark`` cannot use this format at all (a missing extension
        or jar); the write helpers ask before anything is judged or written.  Default: it can."""

    def check_batch_writes(self, spark: SparkSession, target: DatasetTarget) -> None:
        """Raise, before any query starts, when micro-batches of ``target`` cannot be written
        from where ``foreachBatch`` runs for ``spark`` (on Spark Connect: a process the server
        starts).  Default: they can."""

    #: Whether rows read back from :meth:`stage_micro_batch`'s files equal the rows staged (every
    #: Spark type stored as it is).  Then the ``inline`` writer measures uniqueness and names a
    #: rejected row's rules from the staged files instead of computing them from the batch again.
    stages_exactly: bool = False

    def stage_micro_batch(self, df: DataFrame, target: DatasetTarget, *, batch_id: int,
                          route_column: str | None = None) -> StagedBatch | None:
        """Write one micro-batch where readers cannot see it yet; None if the format cannot.

        The ``inline`` writer stages a batch while it measures it, then publishes or
        drops it on the verdict: the gate holds and both run at once.  With
        ``route_column`` (a ``bigint`` column, not itself published), ``commit`` publishes
        only the rows whose route is 0 and ``StagedBatch.read`` returns the staged rows
        with their route, so one write serves a main and a rejection sink.
        """
        return None

    def _unsupported(self, operation: str) -> UnsupportedOperationError:
        can = [op for op in OPERATIONS if self.supports(op)]
        return UnsupportedOperationError(
            f"format '{self.name}' does not support {operation.replace('_', ' ')}; it supports: "
            f"{', '.join(can) or 'nothing'}. Choose a format whose plugin supports {operation}."
        )


def split_writer_options(options: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """Separate ``queryName`` (a DataStreamWriter setting, not an option) from options."""
    rest = dict(options)
    return rest.pop("queryName", None), rest


class SparkFormat(DatasetFormat):
    """A format Spark implements natively (``spark.read.format(name)``)."""

    def __init__(self, name: str, *, description: str = "", stream_source: bool = True,
                 stream_sink: bool = True, batch: bool = True, spark_format: str | None = None,
                 located: bool = True) -> None:
        self.name = name
        self.located = located  # whether it reads or writes at a path or table (``rate`` generates rows)
        self.description = description
        self.spark_format = spark_format or name
        self._ops = {"read_stream": stream_source, "write_stream": stream_sink,
                     "read": batch, "write": batch}

    def supports(self, operation: str) -> bool:
        return self._ops.get(operation, False)

    def check_target(self, target: DatasetTarget, operation: str) -> None:
        super().check_target(target, operation)
        if not self.located and (target.path or target.table):
            given = f"path={target.path!r}" if target.path else f"table={target.table!r}"
            raise InvalidArgumentError(f"format '{self.name}' reads no path or table, so {given} would be ignored: "
                                       "remove it (rows come from the format's options)")

    def read_stream(self, spark: SparkSession, target: DatasetTarget) -> DataFrame:
        self._require("read_stream")
        reader = spark.readStream.format(self.spark_format).options(**target.options)
        if target.table:
            return reader.table(target.table)
        return reader.load(target.path) if target.path else reader.load()

    def write_stream(self, df: DataFrame, target: DatasetTarget, *, mode: str,
                     trigger: Mapping[str, Any] | None) -> StreamingQuery:
        self._require("write_stream")
        query_name, options = split_writer_options(target.options)
        writer = df.writeStream.format(self.spark_format).outputMode(mode).options(**options)
        if query_name:
            writer = writer.queryName(query_name)
        if trigger:
            writer = writer.trigger(**trigger)
        if target.table:
            return writer.toTable(target.table)
        return writer.start(target.path) if target.path else writer.start()

    def read(self, spark: SparkSession, target: DatasetTarget) -> DataFrame:
        self._require("read")
        reader = spark.read.format(self.spark_format).options(**target.options)
        if target.table:
            return reader.table(target.table)
        if target.paths:
            return reader.load(list(target.paths))
        return reader.load(target.path) if target.path else reader.load()

    def write(self, df: DataFrame, target: DatasetTarget, *, mode: str) -> None:
        self._require("write")
        writer = df.write.format(self.spark_format).mode(mode).options(**target.options)
        if target.table:
            writer.saveAsTable(target.table)
        else:
            writer.save(target.path)

    def _require(self, operation: str) -> None:
        if not self.supports(operation):
            raise self._unsupported(operation)
