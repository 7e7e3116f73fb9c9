"""What dc43 reads from a streaming query's checkpoint, through Spark (so on every topology; a local
file directly), and the history a query keeps in a file named after it (:class:`QueryHistory`)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def query_id(spark: Any, checkpoint: str | None) -> str:
    """The id of the query running on ``checkpoint``, from the ``metadata`` file Spark writes there
    when the query starts (read directly when it is a local file, else through Spark); without a
    checkpoint (no restart to replay), a new id."""
    if not checkpoint:
        return uuid.uuid4().hex
    local = Path(checkpoint.removeprefix("file://").removeprefix("file:")) / "metadata"
    if local.is_absolute() and local.is_file():
        return json.loads(local.read_text().splitlines()[0])["id"]
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



def query_state(spark: Any, state_dir: Path, kind: str, dataset_id: str, checkpoint: str | None,
                known_id: str | None = None) -> Path | None:
    """Where a streaming query keeps its ``kind`` of history (``keys``, ``volumes``): a file named by
    the dataset, the checkpoint and the query's id (``known_id``, or read from the checkpoint), so
    a restart finds it and a new checkpoint starts over; None (in memory) without a checkpoint."""
    if not checkpoint:
        return None
    name = f"{dataset_id}\0{checkpoint.rstrip('/')}\0{known_id or query_id(spark, checkpoint)}"
    return state_dir / kind / f"{hashlib.sha256(name.encode()).hexdigest()[:24]}.db"


class QueryHistory:
    """The rules of one write whose history each streaming query keeps in a file of its own
    (:func:`query_state`, under the folder ``kind``); picklable, the file opened where it is used.

    ``at(checkpoint)`` gives the copy the query on ``checkpoint`` uses.
    """

    kind = ""

    def __init__(self, rules: Sequence[Any], *, state_dir: Path, dataset_id: str,
                 checkpoint: str | None = None) -> None:
        self.rules = tuple(rules)
        self.state_dir = state_dir
        self.dataset_id = dataset_id
        self.checkpoint = checkpoint
        self._index: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_index": None}  # a connection belongs to the process that opened it

    def at(self, checkpoint: str | None) -> Any:
        return type(self)(self.rules, state_dir=self.state_dir, dataset_id=self.dataset_id, checkpoint=checkpoint)

    def _file(self, spark: Any, known_id: str | None = None) -> Path | None:
        return query_state(spark, self.state_dir, self.kind, self.dataset_id, self.checkpoint, known_id)
