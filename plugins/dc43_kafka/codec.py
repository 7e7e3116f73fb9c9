"""Kafka records <-> contract columns as JSON, with a reason for every undecodable record.

Decoding parses the value once with ``from_json`` in PERMISSIVE mode with a corrupt-record
column: a value that is not JSON, or holds a field whose JSON type cannot become the
contract's type (``"amount": "abc"`` for a double), fills that column instead of passing as
nulls.  Only such rows are parsed again, field by field, to name the offending fields.
JSON parsing does not depend on ``spark.sql.ansi.enabled``.
"""

from __future__ import annotations

from typing import Any

from dc43.errors import InvalidArgumentError
from dc43.formats import DECODE_ERROR_COLUMN, REJECTED_RULES_COLUMN
from dc43.spark.schema import quoted
from dc43.spark.types import data_struct
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType, StructField, StructType

from dc43_kafka.keys import primary_key

METADATA_PREFIX = "_kafka_"
METADATA_COLUMNS = ("key", "topic", "partition", "offset", "timestamp")
_CORRUPT = "_dc43_corrupt_record"
_TEXT = "_dc43_value_text"
_PARSED = "_dc43_parsed"
_PERMISSIVE = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}
_OBJECT = r"(?s)^\s*\{.*\}\s*$"


def _parse(text: Column, fields: list[StructField]) -> Column:
    return F.from_json(text, StructType([*fields, StructField(_CORRUPT, StringType())]), _PERMISSIVE)


def _reason(text: Column, parsed: Column, struct: StructType) -> Column:
    """NULL for a decodable value, else why it cannot be decoded."""
    not_object = ~text.rlike(_OBJECT) | F.from_json(text, MapType(StringType(), StringType())).isNull()
    fields = F.concat_ws(", ", *(F.when(_parse(text, [f])[_CORRUPT].isNotNull(), F.lit(f.name))
                                 for f in struct.fields))
    mismatch = F.when(fields == "", F.lit("value does not match the contract's types")).otherwise(
        F.concat(F.lit("fields not matching the contract's types: "), fields))
    return (F.when(text.isNull(), F.lit("value is null"))
            .when(not_object, F.lit("value is not a JSON object"))
            .when(parsed[_CORRUPT].isNotNull(), mismatch))


def _staged(raw: DataFrame, struct: StructType) -> DataFrame:
    """Kafka's columns plus the value as text and parsed (each parsed once)."""
    text = F.col("value").cast("string")
    return raw.select(*METADATA_COLUMNS, text.alias(_TEXT), _parse(text, struct.fields).alias(_PARSED))


def decode(raw: DataFrame, contract: Any, *, metadata: bool) -> DataFrame:
    """Contract columns (named as the JSON fields are: ``physicalName``) from the JSON values,
    :data:`DECODE_ERROR_COLUMN`, and with ``metadata`` the record's key (as a string), topic,
    partition, offset and timestamp as ``_kafka_<name>`` columns."""
    struct = data_struct(contract)
    staged = _staged(raw, struct)
    parsed = F.col(_PARSED)
    kafka = [(F.col(name).cast("string") if name == "key" else F.col(name)).alias(METADATA_PREFIX + name)
             for name in METADATA_COLUMNS] if metadata else []
    return staged.select(*(parsed[f.name].alias(f.name) for f in struct.fields),
                         _reason(F.col(_TEXT), parsed, struct).alias(DECODE_ERROR_COLUMN), *kafka)


def dead_letters(raw: DataFrame, contract: Any, *, as_kafka: bool) -> DataFrame:
    """The undecodable records: raw value, error, topic, partition, offset, timestamp.

    ``as_kafka`` packs them into a JSON ``value`` keyed by the record's original key.
    """
    struct = data_struct(contract)
    staged = _staged(raw, struct)
    error = _reason(F.col(_TEXT), F.col(_PARSED), struct)
    fields = [F.col(_TEXT).alias("value"), F.col("error"), *(F.col(n) for n in METADATA_COLUMNS[1:])]
    poison = staged.select("*", error.alias("error")).where(F.col("error").isNotNull())
    if as_kafka:
        return poison.select("key", F.to_json(F.struct(*fields)).alias("value"))
    return poison.select("key", *fields)


def encode(df: DataFrame, contract: Any) -> DataFrame:
    """``key`` (the primary key: a string, or JSON when composite) and ``value`` (the
    contract's columns as JSON, plus :data:`REJECTED_RULES_COLUMN` on rows sent to a
    rejection sink); every other column is left out."""
    names = [f.name for f in data_struct(contract).fields if f.name in df.columns]
    if REJECTED_RULES_COLUMN in df.columns:
        names.append(REJECTED_RULES_COLUMN)
    columns = [F.to_json(F.struct(*(F.col(quoted(n)) for n in names))).alias("value")]
    keys = primary_key(contract)
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise InvalidArgumentError(f"primary-key column(s) {', '.join(missing)} are missing from the data written "
                        "to Kafka; the record key is built from them, add them to the DataFrame")
    if len(keys) == 1:
        columns.insert(0, F.col(quoted(keys[0])).cast("string").alias("key"))
    elif keys:
        columns.insert(0, F.to_json(F.struct(*(F.col(quoted(k)) for k in keys))).alias("key"))
    return df.select(*columns)
