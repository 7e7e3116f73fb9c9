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
