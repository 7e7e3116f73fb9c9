"""dc43 plugin: contracts stored as files, and file-based dataset formats.

Provides the default contract service (``FSContractStore`` under the settings'
``contracts_dir``), the default governance service (SQLite at the settings'
``governance_path``) and the data-product service beside it, all ``trylast``, and the ``parquet``, ``json``, ``csv``
and ``orc`` formats for streaming and batch IO.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from dc43 import hookimpl
from dc43.errors import InvalidArgumentError
from dc43.formats import BATCH_ID_COLUMN, DatasetTarget, SparkFormat

#: file formats whose files give back exactly the values written (types included)
EXACT_FORMATS = frozenset({"parquet", "orc"})


class FileFormat(SparkFormat):
    """A file format: every read and write needs a path."""

    @property
    def stages_exactly(self) -> bool:  # type: ignore[override]
        return self.spark_format in EXACT_FORMATS

    def check_target(self, target: DatasetTarget, operation: str) -> None:
        super().check_target(target, operation)
        self._check(target)

    def _check(self, target: DatasetTarget) -> None:
        if not target.path and not target.table:
            raise InvalidArgumentError(
                f"format '{self.name}' needs a location: pass path=... (or table=...), give the "
                "locator a path, or set the contract server's path"
            )

    def read_stream(self, spark: Any, target: DatasetTarget) -> Any:
        """File streams need a schema up front: the contract's, unless options give one."""
        self._check(target)
        reader = spark.readStream.format(self.spark_format).options(**target.options)
        if target.contract is not None:
            from dc43.spark.types import data_struct

            reader = reader.schema(data_struct(target.contract))
        return _analysed(lambda: reader.table(target.table) if target.table else reader.load(target.path), target)

    def write_stream(self, df: Any, target: DatasetTarget, *, mode: str,
                     trigger: Mapping[str, Any] | None) -> Any:
        self._check(target)
        return super().write_stream(df, target, mode=mode, trigger=trigger)

    def read(self, spark: Any, target: DatasetTarget) -> Any:
        self._check(target)
        return _analysed(lambda: super(FileFormat, self).read(spark, target), target)

    def write(self, df: Any, target: DatasetTarget, *, mode: str) -> None:
        self._check(target)
        super().write(df, target, mode=mode)

    def write_micro_batch(self, df: Any, target: DatasetTarget, *, batch_id: int) -> None:
        """Idempotent per batch id under a path: each batch is its own ``_dc43_batch_id=N``
        partition, replaced (never appended to) when Spark replays the batch.  Tables append.

        The batch is staged and its folder renamed into place: cheaper than a dynamic
        partition overwrite, which lists, moves and deletes file by file.
        """
        self._check(target)
        if target.table:
            super().write_micro_batch(df, target, batch_id=batch_id)
            return
        self.stage_micro_batch(df, target, batch_id=batch_id).commit()

    def check_batch_writes(self, spark: Any, target: DatasetTarget) -> None:
        """Micro-batches are published by moving folders: on Spark Connect that needs a path
        ``pyarrow.fs`` can reach."""
        self._check(target)
        if target.path and not target.table:
            from dc43_filesystem.folders import check_publishable

            check_publishable(spark, target.path, self.name)

    def stage_micro_batch(self, df: Any, target: DatasetTarget, *, batch_id: int,
                          route_column: str | None = None) -> Any:
        """Stage under ``<path>/_dc43_staging/`` (hidden from readers); the commit moves the
        files into the batch's ``_dc43_batch_id=N`` partition, replacing a replayed one.

        With ``route_column`` the batch is staged partitioned by it, so each route's rows
        are separate files without the column: route 0 is published, the others are read back.
        """
        self._check(target)
        if target.table:
            return None
        staged = _StagedFiles(df.sparkSession, target.path, batch_id, route_column=route_column,
                              reader=lambda: df.sparkSession.read.format(self.spark_format)
                              .options(**target.options).schema(df.schema))
        writer = df.write.format(self.spark_format).options(**target.options).mode("overwrite")
        if route_column:
            writer = writer.partitionBy(route_column)
        writer.save(staged.staging)
        return staged


def _analysed(load: Callable[[], Any], target: DatasetTarget) -> Any:
    """The DataFrame ``load()`` makes, resolved by Spark, a missing path turned into an error naming
    it (on every topology: on Spark Connect the path is the server's)."""
    from pyspark.errors import AnalysisException

    try:
        df = load()
        df.schema  # noqa: B018 - resolves the plan (on Connect: asks the server)
    except AnalysisException as exc:
        if exc.getCondition() != "PATH_NOT_FOUND":
            raise
        raise InvalidArgumentError(f"path '{target.path}' does not exist; check it, or write the dataset "
                                   "first") from None
    return df


class _StagedFiles:
    """A micro-batch's files written aside, published by renaming their folder."""

    def __init__(self, spark: Any, path: str, batch_id: int, *, route_column: str | None,
                 reader: Callable[[], Any]) -> None:
        from dc43_filesystem.folders import folders_for

        self._folders = folders_for(spark)
        self._route = route_column
        self._reader = reader
        self.staging = f"{path.rstrip('/')}/_dc43_staging/{BATCH_ID_COLUMN}={batch_id}"
        self.final = f"{path.rstrip('/')}/{BATCH_ID_COLUMN}={batch_id}"

    def read(self, *, rejected_only: bool) -> Any:
        from pyspark.sql import functions as F

        rows = self._reader().option("basePath", self.staging).load(self.staging)
        return rows.filter(F.col(self._route) != 0) if rejected_only else rows

    def commit(self) -> None:
        folders = self._folders
        published = f"{self.staging}/{self._route}=0" if self._route else self.staging
        if folders.exists(self.final):
            folders.delete(self.final)  # a replayed batch replaces what its first attempt published
        if folders.exists(published):  # with routes, a batch whose every row was rejected has none
            folders.move(published, self.final)
        if self._route:
            folders.delete(self.staging)

    def abort(self) -> None:
        self._folders.delete(self.staging)


@hookimpl
def dc43_dataset_formats() -> Mapping[str, Any]:
    return {name: FileFormat(name, description=f"{name} files under a path")
            for name in ("parquet", "json", "csv", "orc")}


@hookimpl(trylast=True)
def dc43_contract_service(settings: Any) -> Any:
    from dc43.contracts import FSContractStore, LocalContractServiceClient

    return LocalContractServiceClient(FSContractStore(settings.contracts_dir))


_services: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _shared(kind: str, settings: Any, factory: Any) -> Any:
    """One service of ``kind`` per database file and process, shared by every helper call."""
    key = (kind, str(settings.governance_path.resolve()))
    with _lock:
        if key not in _services:
            _services[key] = factory(settings.governance_path)
        return _services[key]


@hookimpl(trylast=True)
def dc43_governance_service(settings: Any) -> Any:
    from dc43.governance import LocalGovernanceService

    return _shared("governance", settings,
                   lambda path: LocalGovernanceService(path, keep_verdicts=settings.keep_verdicts))


@hookimpl(trylast=True)
def dc43_data_product_service(settings: Any) -> Any:
    """Data products in the governance database file."""
    from dc43.products import LocalDataProductService

    return _shared("products", settings, LocalDataProductService)
