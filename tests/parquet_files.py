"""Parquet files for the streaming tests' sources, written with pyarrow: one file per intended
micro-batch, each in a few milliseconds instead of a Spark job (about a second on classic
Spark, more on Connect and on a cluster)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def batch_files(spark: Any, schema: Any, batches: Sequence[Sequence[Sequence[Any]]], folder: Path,
                first: int = 0) -> str:
    """One file per intended micro-batch in ``folder`` (``batch-000.parquet``, ...), their times in
    order, so a stream read with ``maxFilesPerTrigger=1`` takes exactly one per batch; the folder."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    for index, rows in enumerate(batches, start=first):
        target = folder / f"batch-{index:03d}.parquet"
        write_parquet(spark, schema, rows, target)
        os.utime(target, (1_700_000_000 + index, 1_700_000_000 + index))
    return str(folder)


def write_parquet(spark: Any, schema: Any, rows: Sequence[Sequence[Any]], target: Path) -> None:
    """``rows`` as one parquet file at ``target``, typed by ``schema`` (a DDL string or a
    ``StructType``) as Spark types them: a timestamp without a zone is local time, as in
    ``spark.createDataFrame``."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    struct = schema if isinstance(schema, StructType) else spark.createDataFrame([], schema).schema
    arrow = to_arrow_schema(struct, timezone="UTC")
    columns = list(zip(*rows)) if rows else [()] * len(struct.fields)
    arrays = [pa.array([_arrow_value(field.dataType, v) for v in values], type=arrow.field(field.name).type)
              for field, values in zip(struct.fields, columns)]
    pq.write_table(pa.Table.from_arrays(arrays, schema=arrow), target)


def _arrow_value(data_type: Any, value: Any) -> Any:
    from pyspark.sql.types import TimestampType

    if isinstance(data_type, TimestampType) and isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.astimezone(datetime.timezone.utc)  # what Spark's conversion does: local time
    return value
