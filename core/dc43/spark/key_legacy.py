"""Keys an earlier dc43 kept in SQLite (one file per query), converted where the batches are judged.

That index held each key as JSON text (a date or timestamp in ISO form, a decimal as a string,
bytes in hex) with the batch that first published it.  At a query's first batch the text is
read back with the key's Spark types, made a DataFrame, hashed by the same expressions as a
live batch and kept, batch by batch, in the new index; the SQLite file is then renamed
``<name>.db.converted`` (kept, never read again).
"""

from __future__ import annotations

import datetime
import decimal
import json
import sqlite3
from pathlib import Path
from typing import Any

from dc43.key_index import EVENT, HASH, KeyIndex
from dc43.quality.plan import Expectation


def convert(spark: Any, path: Path, index: KeyIndex, rule: Expectation, keys: Any) -> None:
    """Keep the keys ``rule`` has in the SQLite file at ``path`` in ``index``, batch by batch, as the
    earlier index kept and forgot them (``keys``: the rule's
    :class:`~dc43.spark.key_history.KeyColumns` over a live batch)."""
    import pyarrow.compute as pc
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StructType

    db = sqlite3.connect(str(path))
    try:
        rows = db.execute("SELECT key, first_batch, first_at, event_time FROM keys WHERE rule = ?",
                          (rule.key,)).fetchall()
        marks = dict(db.execute("SELECT batch_id, max_event FROM batches WHERE rule = ?", (rule.key,)).fetchall())
    finally:
        db.close()
    fields = keys.raw_schema.fields
    typed = [(*(_typed(value, field.dataType) for value, field in zip(json.loads(text), fields, strict=True)),
              batch, at, event) for text, batch, at, event in rows]
    schema = StructType(list(fields)).add("_batch", LongType()).add("_at", DoubleType()).add(EVENT, LongType())
    again = keys.over([F.col(field.name) for field in fields], keys.raw_schema, F.col(EVENT))
    table = (spark.createDataFrame(typed, schema)
             .select(again.hash.alias(HASH), *(key.alias(name) for name, key in again.named()), EVENT, "_batch", "_at")
             .toArrow())
    stored = index.rule(rule.key)
    for batch in sorted(set(table.column("_batch").to_pylist()) | set(marks)):
        mine = table.filter(pc.equal(table.column("_batch"), batch))
        stored.publish(mine.drop_columns(["_batch", "_at"]), batch, rule.params["horizon"],
                       now=max(mine.column("_at").to_pylist(), default=0.0), max_event=marks.get(batch))


def _typed(value: Any, data_type: Any) -> Any:
    """A key value as the earlier index wrote it (JSON), back as the Python value of its Spark type."""
    from pyspark.sql.types import (
        ArrayType,
        BinaryType,
        DateType,
        DecimalType,
        MapType,
        StructType,
        TimestampNTZType,
        TimestampType,
    )

    if value is None:
        return None
    if isinstance(data_type, DateType):
        return datetime.date.fromisoformat(value)
    if isinstance(data_type, (TimestampType, TimestampNTZType)):
        return datetime.datetime.fromisoformat(value)
    if isinstance(data_type, DecimalType):
        return decimal.Decimal(value)
    if isinstance(data_type, BinaryType):
        return bytes.fromhex(value)
    if isinstance(data_type, StructType):
        return tuple(_typed(value.get(field.name), field.dataType) for field in data_type.fields)
    if isinstance(data_type, ArrayType):
        return [_typed(item, data_type.elementType) for item in value]
    if isinstance(data_type, MapType):
        return {_typed(k, data_type.keyType): _typed(v, data_type.valueType) for k, v in value.items()}
    return value
