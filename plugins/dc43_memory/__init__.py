"""dc43 plugin: Spark's memory sink, an in-memory contract store and the local
data-quality service (the embedded default, ``trylast`` so any installed
third-party service wins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dc43 import hookimpl
from dc43.formats import DatasetTarget, SparkFormat


class MemorySinkFormat(SparkFormat):
    """Spark's ``memory`` sink; the query name (or ``table``) names the in-memory table."""

    def __init__(self) -> None:
        super().__init__("memory", description="in-memory table named by queryName (tests, demos)",
                         stream_source=False, batch=False)

    def write_stream(self, df: Any, target: DatasetTarget, *, mode: str,
                     trigger: Mapping[str, Any] | None) -> Any:
        name = target.options.get("queryName") or target.table
        if not name:
            from dc43.errors import InvalidArgumentError

            raise InvalidArgumentError("the memory sink needs a table name: pass options={'queryName': 'name'} "
                            "or table='name'")
        options = {k: v for k, v in target.options.items() if k != "queryName"}
        writer = df.writeStream.format("memory").outputMode(mode).queryName(name).options(**options)
        if trigger:
            writer = writer.trigger(**trigger)
        return writer.start()


@hookimpl
def dc43_dataset_formats() -> Mapping[str, Any]:
    return {"memory": MemorySinkFormat()}


@hookimpl(trylast=True)
def dc43_data_quality_service(settings: Any) -> Any:
    from dc43.quality import LocalDataQualityService

    return LocalDataQualityService()


def __getattr__(name: str) -> Any:
    if name == "InMemoryContractStore":
        from dc43_memory.store import InMemoryContractStore

        return InMemoryContractStore
    raise AttributeError(name)
