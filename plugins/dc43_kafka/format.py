"""The ``kafka`` dataset format: JSON records decoded to and encoded from the contract."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from dc43.errors import InvalidArgumentError
from dc43.formats import DatasetFormat, DatasetTarget, StreamRead, split_writer_options

from dc43_kafka.options import DeadLetterSink, read_settings, write_settings


def _contract(target: DatasetTarget) -> Any:
    if target.contract is None:
        raise InvalidArgumentError("format 'kafka' decodes and encodes records with the contract's schema; "
                        "use it through dc43's *_with_contract helpers, which pass the contract")
    return target.contract


def _start_dead_letters(spark: Any, poison: Any, sink: DeadLetterSink, topic: str) -> Any:
    if not sink.checkpoint and not spark.conf.get("spark.sql.streaming.checkpointLocation", None):
        raise InvalidArgumentError("the dead-letter query needs its own checkpoint: set option "
                        "'dc43.deadLetter.checkpointLocation' to a folder no other query uses")
    name = sink.query_name or f"dc43_dead_letters_{topic}_{uuid.uuid4().hex[:8]}"
    writer = poison.writeStream.format(sink.format).options(**sink.options).queryName(name)
    return writer.start(sink.path) if sink.path else writer.start()


class KafkaFormat(DatasetFormat):
    """Kafka topics holding one JSON object per record, through Spark's Kafka connector."""

    name = "kafka"
    dc43_options = ("dc43.deadLetter.", "dc43.metadata")
    description = "JSON records in Kafka topics (streaming and batch; dead letters for bad records)"

    def check_target(self, target: DatasetTarget, operation: str) -> None:
        """The Kafka options of ``target`` checked for ``operation`` before any query starts."""
        if operation in ("write", "write_stream"):
            write_settings(target)
        else:
            read_settings(target, streaming=operation == "read_stream")
        super().check_target(target, operation)

    def read_stream(self, spark: Any, target: DatasetTarget) -> StreamRead:
        from dc43_kafka.codec import dead_letters, decode

        settings = read_settings(target, streaming=True)
        contract = _contract(target)
        raw = spark.readStream.format("kafka").options(**settings.spark_options).load()
        df = decode(raw, contract, metadata=settings.metadata)
        if settings.dead_letter is None:
            return StreamRead(df)
        sink = settings.dead_letter
        poison = dead_letters(raw, contract, as_kafka=sink.format == "kafka")
        return StreamRead(df, queries=(_start_dead_letters(spark, poison, sink, settings.topic),))

    def write_stream(self, df: Any, target: DatasetTarget, *, mode: str,
                     trigger: Mapping[str, Any] | None) -> Any:
        from dc43_kafka.codec import encode

        query_name, options = split_writer_options(write_settings(target).spark_options)
        writer = encode(df, _contract(target)).writeStream.format("kafka").outputMode(mode).options(**options)
        if query_name:
            writer = writer.queryName(query_name)
        if trigger:
            writer = writer.trigger(**trigger)
        return writer.start()

    def read(self, spark: Any, target: DatasetTarget) -> Any:
        from dc43_kafka.codec import decode

        settings = read_settings(target, streaming=False)
        raw = spark.read.format("kafka").options(**settings.spark_options).load()
        return decode(raw, _contract(target), metadata=settings.metadata)

    def write(self, df: Any, target: DatasetTarget, *, mode: str) -> None:
        from dc43_kafka.codec import encode

        options = write_settings(target).spark_options
        encode(df, _contract(target)).write.format("kafka").mode(mode).options(**options).save()
