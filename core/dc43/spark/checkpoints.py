"""What dc43 reads from a streaming query's checkpoint, through Spark (so on every topology)."""

from __future__ import annotations

import json
import uuid
from typing import Any


def query_id(spark: Any, checkpoint: str | None) -> str:
    """The id of the query running on ``checkpoint``, from the ``metadata`` file Spark writes there
    when the query starts; without a checkpoint (no restart to replay), a new id."""
    if not checkpoint:
        return uuid.uuid4().hex
    (line,) = spark.read.text(f"{checkpoint.rstrip('/')}/metadata").limit(1).collect()
    return json.loads(line[0])["id"]


def logged_batches(spark: Any, checkpoint: str, log: str) -> set[int]:
    """The batch ids in one of a checkpoint's logs: ``offsets`` (planned) or ``commits`` (done)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    try:
        files = spark.read.text(f"{checkpoint.rstrip('/')}/{log}").select(F.input_file_name()).distinct().collect()
    except AnalysisException as exc:
        if exc.getCondition() == "PATH_NOT_FOUND":
            return set()
        raise
    names = (row[0].rstrip("/").rsplit("/", 1)[-1] for row in files)
    return {int(name) for name in names if name.isdigit()}

