"""The helpers' argument checks: each wrong input is refused, before any query starts, with an
:class:`~dc43.errors.InvalidArgumentError` that names it and says what to pass instead."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

from dc43.errors import InvalidArgumentError, did_you_mean

STREAM_MODES = ("append", "complete", "update")
BATCH_MODES = ("append", "overwrite", "ignore", "error", "errorifexists")
TRIGGERS = {"processingTime": str, "once": bool, "availableNow": bool, "continuous": str}


def dataframe(df: Any, *, streaming: bool, helper: str) -> None:
    from pyspark.sql.dataframe import DataFrame

    if not isinstance(df, DataFrame):
        raise InvalidArgumentError(f"{helper}(df=...) needs a Spark DataFrame, got {type(df).__name__}")
    if df.isStreaming != streaming:
        other = "write_stream_with_contract" if df.isStreaming else "write_with_contract"
        kind = "a streaming" if df.isStreaming else "a batch"
        raise InvalidArgumentError(f"{helper} got {kind} DataFrame; write it with {other}, or pass a "
                                   f"DataFrame from spark.{'readStream' if streaming else 'read'}")


def _is_session(value: Any) -> bool:
    from pyspark.sql import SparkSession

    connect = sys.modules.get("pyspark.sql.connect.session")  # loaded whenever a Connect session exists
    return isinstance(value, SparkSession) or (connect is not None and isinstance(value, connect.SparkSession))


def session(spark: Any, *, helper: str) -> None:
    if not _is_session(spark):
        raise InvalidArgumentError(f"{helper}(spark=...) needs a SparkSession, got {type(spark).__name__}")


def flags(**values: Any) -> None:
    """Switches such as ``enforce`` must be booleans: the string "false" would mean True."""
    for name, value in values.items():
        if not isinstance(value, bool):
            raise InvalidArgumentError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def option_map(value: Any) -> dict[str, str]:
    """``options`` as Spark takes them: a mapping of names to strings, numbers or booleans."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"options must be a mapping of option names to values, got {type(value).__name__} "
                                   f"{value!r}")
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"option name {key!r} must be a string")
        if not isinstance(item, (str, int, float, bool)):
            raise InvalidArgumentError(f"option '{key}' must be a string, a number or a boolean, "
                                       f"got {type(item).__name__}")
    return dict(value)


def mode(value: Any, *, streaming: bool) -> None:
    modes = STREAM_MODES if streaming else BATCH_MODES
    if not isinstance(value, str) or value.lower() not in modes:
        hint = did_you_mean(value, modes) if isinstance(value, str) else ""
        raise InvalidArgumentError(f"mode {value!r}{hint} is not a {'streaming' if streaming else 'batch'} "
                                   f"output mode; use one of {', '.join(modes)}")


def trigger(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or len(value) != 1:
        raise InvalidArgumentError(
            f"trigger must name exactly one trigger, like {{'processingTime': '10 seconds'}} or "
            f"{{'availableNow': True}}; got {value!r}")
    (key, setting), = value.items()
    if key not in TRIGGERS:
        raise InvalidArgumentError(f"unknown trigger {key!r}{did_you_mean(str(key), TRIGGERS)}; use one of "
                                   f"{', '.join(TRIGGERS)}")
    if not isinstance(setting, TRIGGERS[key]):
        raise InvalidArgumentError(f"trigger {key!r} takes a {TRIGGERS[key].__name__}, got {setting!r}")


def callback(value: Any) -> Callable[[dict[str, Any]], None] | None:
    if value is not None and not callable(value):
        raise InvalidArgumentError(f"on_streaming_batch must be a function taking each batch's entry, got "
                                   f"{type(value).__name__}")
    return value


def bound(name: str, value: Any) -> None:
    """A count the caller may leave unbounded (None) or set to a whole number of 1 or more."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise InvalidArgumentError(f"{name} must be a whole number of 1 or more, or None for no bound; got {value!r}")


def context(value: Any) -> Mapping[str, Any] | None:
    if value is not None and not isinstance(value, Mapping):
        raise InvalidArgumentError(f"pipeline_context must be a mapping, like {{'job': 'orders-nightly'}}, got "
                                   f"{type(value).__name__} {value!r:.60}")
    return value


def contract_name(value: Any) -> str:
    if not value:
        raise InvalidArgumentError("contract_id is required: pass the id of the contract the data must follow")
    if not isinstance(value, str):
        raise InvalidArgumentError(f"contract_id must be a string, got {type(value).__name__} {value!r}")
    return value


def location(path: Any, table: Any) -> None:
    for name, value in (("path", path), ("table", table)):
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if path and table:
        raise InvalidArgumentError(f"pass path={path!r} or table={table!r}, not both: they name the same data")


def service(kind: str, value: Any, methods: tuple[str, ...]) -> None:
    """A service object passed in must have the methods dc43 calls."""
    if value is None:
        return
    from dc43.contracts.store import ContractStore

    if kind == "contract" and isinstance(value, ContractStore):
        raise InvalidArgumentError(
            f"contract_service got a contract store ({type(value).__name__}); wrap it in a client: "
            "contract_service=LocalContractServiceClient(store)")
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if missing:
        raise InvalidArgumentError(
            f"{kind}_service {type(value).__name__} lacks {', '.join(m + '()' for m in missing)}; pass a "
            f"{kind.replace('_', '-')} service client, or leave it out to use the one the plugins provide")


def local_path(path: str | None) -> str | None:
    """The local filesystem path ``path`` names, or None for other filesystems."""
    if not path:
        return None
    parsed = urlparse(path)
    if parsed.scheme in ("", "file"):
        return parsed.path if parsed.scheme else path
    return None


def checkpoint(spark: Any, options: Mapping[str, Any], *, sink_path: str | None, needed_for: str | None) -> None:
    """``checkpointLocation``: present when replays must be safe, a folder, apart from the sink's data.

    Whether it is a file is checked where this process sees the files (not on Spark Connect).
    """
    where = options.get("checkpointLocation")
    if not where:
        if needed_for:
            raise InvalidArgumentError(
                f"{needed_for} needs options={{'checkpointLocation': '/chk/<write>'}}: without one, a restart "
                "starts again at batch 0 and replaces the micro-batches published before")
        return
    from dc43.spark.topology import is_connect

    local = None if is_connect(spark) else local_path(str(where))
    if local and os.path.isfile(local):
        raise InvalidArgumentError(f"checkpointLocation '{where}' is a file; give a folder (it may not exist yet)")
    if sink_path and _inside(str(where), sink_path):
        raise InvalidArgumentError(f"checkpointLocation '{where}' lies inside the sink's path '{sink_path}'; its "
                                   "files would be read as data: put it beside the sink, not in it")


def apart(main_path: str | None, rejected_path: str | None) -> None:
    if main_path and rejected_path and (_inside(rejected_path, main_path) or _inside(main_path, rejected_path)):
        raise InvalidArgumentError(
            f"the rejection sink's path '{rejected_path}' overlaps the sink's path '{main_path}': rejected rows "
            "would be read as accepted ones. Give the rejection sink a folder of its own")


def _inside(path: str, folder: str) -> bool:
    a, b = path.rstrip("/"), folder.rstrip("/")
    return a == b or a.startswith(b + "/")


def free_query_name(spark: Any, options: Mapping[str, Any]) -> None:
    name = options.get("queryName")
    if name and any(query.name == name for query in spark.streams.active):
        raise InvalidArgumentError(f"a streaming query named '{name}' is already running in this session; stop it "
                                   "first or pass another queryName")


def common(*, contract_id: Any, contract_service: Any, data_quality_service: Any, governance_service: Any,
           path: Any, table: Any, options: Any, pipeline_context: Any, **switches: Any) -> dict[str, str]:
    """The checks every helper makes; returns the options as a plain dict."""
    contract_name(contract_id)
    service("contract", contract_service, ("resolve",))
    service("data_quality", data_quality_service, ("describe_expectations", "evaluate"))
    service("governance", governance_service, ("record_observation", "record_verdict"))
    location(path, table)
    context(pipeline_context)
    flags(**switches)
    return option_map(options)
