"""An example third-party dc43 plugin: the ``countdown`` format and ``stop-on-first-failure``.

Only dc43's public API is imported here; pyspark is imported inside the read
methods, so discovering this plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from dc43 import (
    DatasetFormat,
    DatasetTarget,
    StreamingInterventionContext,
    StreamingInterventionStrategy,
    hookimpl,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import DataFrame, SparkSession

COUNTDOWN_FROM = 10
DEFAULT_ROWS_PER_BATCH = "3"


class CountdownFormat(DatasetFormat):
    """``rate-micro-batch`` rows plus ``remaining = 10 - value`` (stream, or one batch)."""

    name = "countdown"
    description = f"rate-micro-batch rows with remaining = {COUNTDOWN_FROM} - value"

    @staticmethod
    def _options(target: DatasetTarget) -> dict[str, str]:
        return {"rowsPerBatch": DEFAULT_ROWS_PER_BATCH, **target.options}

    @staticmethod
    def _with_remaining(df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        return df.withColumn("remaining", (F.lit(COUNTDOWN_FROM) - F.col("value")).cast("bigint"))

    def read_stream(self, spark: SparkSession, target: DatasetTarget) -> DataFrame:
        """One micro-batch of ``rowsPerBatch`` rows per trigger."""
        reader = spark.readStream.format("rate-micro-batch").options(**self._options(target))
        return self._with_remaining(reader.load())

    def read(self, spark: SparkSession, target: DatasetTarget) -> DataFrame:
        """What the first micro-batch would hold: values ``0 .. rowsPerBatch - 1``."""
        from pyspark.sql import functions as F

        rows = int(self._options(target)["rowsPerBatch"])
        df = spark.range(rows).select(F.current_timestamp().alias("timestamp"),
                                      F.col("id").alias("value"))
        return self._with_remaining(df)


class StopOnFirstFailure(StreamingInterventionStrategy):
    """Stops the pipeline at the first micro-batch whose validation fails."""

    def decide(self, context: StreamingInterventionContext) -> Optional[str]:
        if context.validation.ok:
            return None
        errors = "; ".join(context.validation.errors) or context.validation.status
        return (f"stop-on-first-failure: micro-batch {context.batch_id} of dataset "
                f"'{context.dataset_id}' failed validation ({errors})")


@hookimpl
def dc43_dataset_formats() -> Mapping[str, DatasetFormat]:
    return {CountdownFormat.name: CountdownFormat()}


@hookimpl
def dc43_intervention_strategies() -> Mapping[str, Callable[..., Any]]:
    return {"stop-on-first-failure": StopOnFirstFailure}
