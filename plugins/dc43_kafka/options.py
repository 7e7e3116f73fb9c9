"""Resolve a Kafka dataset target into Spark options (pure Python, no pyspark).

Topic: the ``subscribe``/``subscribePattern``/``assign`` option (reads) or the ``topic``
option, else the helper's ``table`` or ``path`` (the locator fills ``path`` from the
contract server's ``path``/``location``), else the contract server's ``dataset``.
Bootstrap servers: the ``kafka.bootstrap.servers`` option, else the server's ``host``
(with its ``port`` when the host names none).  Options under ``dc43.`` are dc43's own;
every other option goes to Spark's Kafka source or sink unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from dc43.errors import InvalidArgumentError
from dc43.formats import DatasetTarget
from dc43.redaction import redact_options

BOOTSTRAP = "kafka.bootstrap.servers"
SUBSCRIPTIONS = ("subscribe", "subscribePattern", "assign")
#: source options a dead-letter Kafka sink inherits: where the cluster is and how to log in
CONNECTION_PREFIXES = (BOOTSTRAP, "kafka.security.", "kafka.sasl.", "kafka.ssl.")
METADATA = "dc43.metadata"
DEAD_LETTER = "dc43.deadLetter."
DEAD_LETTER_KEYS = ("topic", "format", "path", "checkpointLocation", "queryName")
KNOWN_DC43 = (METADATA, *(DEAD_LETTER + key for key in DEAD_LETTER_KEYS))


class _Redacted:
    """repr() without secret option values, for objects that may end up in logs."""

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{a.name}={redact_options(value) if isinstance(value, Mapping) else value!r}"
            for a in attrs.fields(type(self)) for value in [getattr(self, a.name)]
        )
        return f"{type(self).__name__}({fields})"


@attrs.frozen(repr=False)
class DeadLetterSink(_Redacted):
    """Where a streaming read sends the records it cannot decode."""

    format: str
    options: Mapping[str, str]
    path: str | None = None
    query_name: str | None = None

    @property
    def checkpoint(self) -> str | None:
        return self.options.get("checkpointLocation")


@attrs.frozen(repr=False)
class KafkaSettings(_Redacted):
    """A target resolved for Spark: the topic, Spark's options and dc43's switches."""

    topic: str
    spark_options: Mapping[str, str]
    metadata: bool = False
    dead_letter: DeadLetterSink | None = None


def _flag(options: Mapping[str, Any], key: str) -> bool:
    value = str(options.get(key, "false")).strip().lower()
    if value not in ("true", "false"):
        raise InvalidArgumentError(f"option '{key}' must be 'true' or 'false'")
    return value == "true"


def _server(target: DatasetTarget) -> Any:
    """The target's contract server when it describes Kafka, else None."""
    server = target.server
    if server is not None and "kafka" in (getattr(server, "type", None), getattr(server, "format", None)):
        return server
    return None


def _bootstrap(options: Mapping[str, str], server: Any) -> str:
    if options.get(BOOTSTRAP):
        return options[BOOTSTRAP]
    host = getattr(server, "host", None)
    if host:
        port = getattr(server, "port", None)
        return f"{host}:{port}" if port and ":" not in host else host
    raise InvalidArgumentError(
        f"format 'kafka' needs bootstrap servers: pass options={{'{BOOTSTRAP}': 'host:9092'}} "
        "or set the contract server's host (and port)"
    )


def _topic(target: DatasetTarget, options: Mapping[str, str], server: Any) -> str | None:
    return (options.get("topic") or target.table or target.path
            or getattr(server, "dataset", None))


def _split(target: DatasetTarget) -> tuple[dict[str, str], dict[str, str]]:
    """(Spark's options, dc43's options); unknown ``dc43.`` keys are rejected."""
    spark = {k: str(v) for k, v in target.options.items() if not k.startswith("dc43.")}
    own = {k: str(v) for k, v in target.options.items() if k.startswith("dc43.")}
    unknown = sorted(set(own) - set(KNOWN_DC43))
    if unknown:
        raise InvalidArgumentError(f"unknown option(s) {', '.join(unknown)} for format 'kafka'; "
                        f"dc43's Kafka options are: {', '.join(KNOWN_DC43)}")
    return spark, own


def read_settings(target: DatasetTarget, *, streaming: bool) -> KafkaSettings:
    """Settings for reading ``target`` (a stream when ``streaming``)."""
    spark, own = _split(target)
    server = _server(target)
    spark[BOOTSTRAP] = _bootstrap(spark, server)
    given = [key for key in SUBSCRIPTIONS if spark.get(key)]
    if given and "topic" in spark:
        raise InvalidArgumentError(f"options 'topic' and '{given[0]}' both choose what to read; keep one")
    topic = spark.get(given[0]) if given else _topic(target, spark, server)
    if not topic:
        raise InvalidArgumentError(
            "format 'kafka' needs a topic to read: pass table='orders' (or path=...), "
            "options={'subscribe': 'orders'}, or set the contract server's dataset"
        )
    if not given:
        spark.pop("topic", None)
        spark["subscribe"] = topic
    dead_letter = _dead_letter(own, spark)
    if dead_letter is not None and not streaming:
        raise InvalidArgumentError("dc43.deadLetter.* options apply to streaming reads only; in batch, "
                        "select the rows whose _dc43_decode_error is not null yourself")
    return KafkaSettings(topic=topic, spark_options=spark, metadata=_flag(own, METADATA),
                         dead_letter=dead_letter)


def write_settings(target: DatasetTarget) -> KafkaSettings:
    """Settings for writing ``target``."""
    spark, own = _split(target)
    if own:
        raise InvalidArgumentError(f"option(s) {', '.join(sorted(own))} apply to reads only; "
                        "remove them from the write's options")
    server = _server(target)
    spark[BOOTSTRAP] = _bootstrap(spark, server)
    topic = _topic(target, spark, server)
    if not topic:
        raise InvalidArgumentError(
            "format 'kafka' needs a topic to write: pass table='orders' (or path=...), "
            "options={'topic': 'orders'}, or set the contract server's dataset"
        )
    spark["topic"] = topic
    return KafkaSettings(topic=topic, spark_options=spark)


def _dead_letter(own: Mapping[str, str], source: Mapping[str, str]) -> DeadLetterSink | None:
    given = {key: own[DEAD_LETTER + key] for key in DEAD_LETTER_KEYS if own.get(DEAD_LETTER + key)}
    if not given:
        return None
    fmt = given.get("format", "kafka")
    options: dict[str, str] = {}
    if "checkpointLocation" in given:
        options["checkpointLocation"] = given["checkpointLocation"]
    if fmt == "kafka":
        if "topic" not in given:
            raise InvalidArgumentError("dead letters go to Kafka but option 'dc43.deadLetter.topic' is missing; "
                            "set it, or set dc43.deadLetter.format and dc43.deadLetter.path")
        options.update({k: v for k, v in source.items() if k.startswith(CONNECTION_PREFIXES)})
        options["topic"] = given["topic"]
    elif "topic" in given:
        raise InvalidArgumentError(f"option 'dc43.deadLetter.topic' needs dc43.deadLetter.format 'kafka', not '{fmt}'; "
                        "remove one of them")
    return DeadLetterSink(format=fmt, options=options, path=given.get("path"),
                          query_name=given.get("queryName"))
