"""Keys that hold across micro-batches: the ``unique_across`` rules and how long keys are kept.

A stream's ``unique`` and ``primaryKey`` promise a key unique in the dataset, not in each
micro-batch.  Beside each such rule the plan holds a ``unique_across`` rule (same columns,
same severity): a row whose key an earlier batch of the stream published breaks it.  Only
streaming writes measure it; a batch write is one batch.

The schema object's custom properties bound the history (default: every key, for ever):

``dc43.keyHorizon``
    ``"<n> batches"`` (a key is checked in the n batches after the one publishing it),
    a duration (``"90 s"``, ``"2 h"``, ``"7 days"``; units as for SLA durations),
    ``"unbounded"``, or ``"batch"``: keys unique within each micro-batch only (no
    ``unique_across`` rule, no key history, and no job to collect the keys).
``dc43.keyEventTime``
    a property of the object holding event time: the duration is then measured in event
    time, like a watermark.  A key is kept while its newest event time is no older than the
    duration behind the newest event time of the earlier batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dc43.contracts.physical_types import is_temporal
from dc43.contracts.sla import SECONDS, amount
from dc43.errors import ContractFormatError

RULE = "unique_across"
HORIZON = "dc43.keyHorizon"
EVENT_TIME = "dc43.keyEventTime"


def horizon_of(contract: Any, obj: Any) -> dict[str, Any] | None:
    """The key horizon ``obj``'s custom properties set: ``{}`` (unbounded), ``{"batches": n}``
    or ``{"seconds": s}``, with ``"event_time": <column>`` when measured in event time; ``None``
    when keys are unique within each batch only."""
    found = {prop.property: prop.value for prop in obj.customProperties or []
             if prop.property in (HORIZON, EVENT_TIME)}
    label = f"contract {contract.id}@{contract.version}"
    horizon = _parse(label, obj.name, found.get(HORIZON))
    column = found.get(EVENT_TIME)
    if column is None or horizon is None:
        return horizon
    names = {prop.name for prop in obj.properties or []}
    physical = {(p.physicalName or "").strip(): p.name for p in obj.properties or [] if p.physicalName}
    column = column if column in names else physical.get(column, column)  # by name or physicalName
    if column not in names:
        raise ContractFormatError(label, f"schema[{obj.name}].customProperties[{EVENT_TIME}]",
                                  f"{column!r} is not a property of '{obj.name}'; name its event-time column")
    if "seconds" not in horizon:
        raise ContractFormatError(label, f"schema[{obj.name}].customProperties[{EVENT_TIME}]",
                                  f"an event-time column needs {HORIZON} set to a duration (e.g. '2 h')")
    prop = next(p for p in obj.properties or [] if p.name == column)
    if is_temporal(prop) is False:
        raise ContractFormatError(label, f"schema[{obj.name}].customProperties[{EVENT_TIME}]",
                                  f"{column!r} is a {prop.physicalType or prop.logicalType}, not a timestamp or date: "
                                  "name the column holding each row's event time")
    return {**horizon, "event_time": column}


def _parse(label: str, name: str | None, value: Any) -> dict[str, Any] | None:
    if value is None or str(value).strip().lower() == "unbounded":
        return {}
    if str(value).strip().lower() == "batch":
        return None
    field = f"schema[{name}].customProperties[{HORIZON}]"
    number, unit = amount(value) or (0.0, "")
    if unit in ("batch", "batches") and number.is_integer() and number > 0:
        return {"batches": int(number)}
    if unit in SECONDS and number > 0:
        return {"seconds": number * SECONDS[unit]}
    raise ContractFormatError(label, field, f"{value!r} is not a horizon dc43 knows; write '<n> batches', a "
                                            "duration such as '2 h' or '7 days', 'unbounded', or 'batch' (within "
                                            "each batch only)")


def describe(horizon: Mapping[str, Any]) -> str:
    """``horizon`` in words, for reports and result details."""
    if "batches" in horizon:
        return f"{horizon['batches']} batch(es)"
    if "seconds" in horizon:
        clock = f"event time ({horizon['event_time']})" if "event_time" in horizon else "processing time"
        return f"{horizon['seconds']:g} s of {clock}"
    return "unbounded"
