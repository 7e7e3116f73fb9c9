"""The contract's service levels dc43 watches: ``slaProperties`` ``frequency`` and ``latency``.

``frequency`` (``value`` and ``unit``) is how often the data must arrive: a stream that
delivers no batch, or only empty ones, for longer is stale (:mod:`dc43.freshness`).
``latency`` is how old a row may be when it is judged, measured from the event-time column
its ``element`` names (``<object>.<property>`` or ``<property>``, by name or ``physicalName``): each micro-batch's largest
lag and its 95th percentile (nearest rank) are threshold rules ``latency:<column>`` and
``latency_p95:<column>``, of severity ``warning`` unless the property's customProperties set
``dc43.severity``.  Units: ``s``/``sec``/``seconds``, ``m``/``min``/``minutes``,
``h``/``hr``/``hours``, ``d``/``day``/``days``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from dc43.contracts.physical_types import is_temporal
from dc43.errors import ContractFormatError

SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
}


_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")


def amount(text: Any) -> tuple[float, str] | None:
    """``"2 h"`` as ``(2.0, "h")``, ``"10 batches"`` as ``(10.0, "batches")``; None when not such."""
    match = _AMOUNT.match(str(text))
    return (float(match.group(1)), match.group(2).lower()) if match else None


def _label(contract: Any) -> str:
    return f"contract {contract.id}@{contract.version}"


def duration_s(contract: Any, prop: Any) -> float:
    """The SLA property's ``value`` and ``unit`` in seconds; a malformed one names the fix."""
    unit = str(prop.unit or "").strip().lower()
    if unit not in SECONDS:
        raise ContractFormatError(_label(contract), f"slaProperties[{prop.property}].unit",
                                  f"{prop.unit!r} is not a unit dc43 knows; use one of s, m, h, d")
    try:
        value = float(prop.value) if not isinstance(prop.value, bool) else -1.0
    except (TypeError, ValueError):
        value = -1.0
    if not 0 < value < math.inf:  # NaN too
        raise ContractFormatError(_label(contract), f"slaProperties[{prop.property}].value",
                                  f"{prop.value!r} must be a number above 0 ({prop.unit})")
    return value * SECONDS[unit]


def frequency_s(contract: Any) -> float | None:
    """How often, in seconds, the contract says data arrives; ``None`` when it does not say."""
    for prop in getattr(contract, "slaProperties", None) or []:
        if str(prop.property or "").strip().lower() == "frequency":
            return duration_s(contract, prop)
    return None


#: the latency rules: a batch's largest lag, and the lag 95% of its rows are within
LATENCY_RULES = ("latency", "latency_p95")
SEVERITY = "dc43.severity"
_SEVERITIES = ("error", "warning", "info")


@attrs.frozen
class Latency:
    """A ``latency`` SLA: rows of ``obj`` judged at most ``seconds`` after their ``column``'s time."""

    obj: str
    column: str
    seconds: float
    severity: str


def latencies(contract: Any) -> list[Latency]:
    """The contract's ``latency`` SLAs; a malformed one names the field and the fix."""
    found = []
    for prop in getattr(contract, "slaProperties", None) or []:
        if str(prop.property or "").strip().lower() == "latency":
            found.append(_latency(contract, prop))
    return found


def _latency(contract: Any, prop: Any) -> Latency:
    field = f"slaProperties[{prop.property}]"
    seconds = duration_s(contract, prop)
    objects = {obj.name: obj for obj in contract.schema_ or []}
    element = str(prop.element or "").strip()
    if not element:
        raise ContractFormatError(_label(contract), f"{field}.element", "a latency SLA needs 'element' naming its "
                                  "event-time column ('<object>.<property>' or '<property>')")
    name, _, column = element.partition(".") if element.split(".", 1)[0] in objects else ("", "", element)
    obj = objects.get(name) if name else next(iter(objects.values()), None)
    columns = {p.name for p in (obj.properties or [])} if obj is not None else set()
    physical = {(p.physicalName or "").strip(): p.name for p in (obj.properties or []) if p.physicalName} if obj else {}
    if column not in columns and column in physical:  # the element names the data's column
        column = physical[column]
    if obj is None:
        raise ContractFormatError(_label(contract), f"{field}.element", f"'{element}' names no schema object: the "
                                  "contract has none; add the schema object holding the event-time column")
    if column not in columns:
        owner = f"schema object '{obj.name}'" if obj.name else "the first schema object"
        raise ContractFormatError(_label(contract), f"{field}.element",
                                  f"'{column}' is not a property of {owner}; name the event-time column the "
                                  "latency is measured from")
    held = next(p for p in obj.properties or [] if p.name == column)
    if is_temporal(held) is False:
        raise ContractFormatError(_label(contract), f"{field}.element",
                                  f"'{column}' is a {held.physicalType or held.logicalType}, not a timestamp or date: "
                                  "a latency is measured from the column holding each row's event time")
    severity = next((str(c.value).strip().lower() for c in prop.customProperties or [] if c.property == SEVERITY),
                    "warning")
    if severity not in _SEVERITIES:
        raise ContractFormatError(_label(contract), f"{field}.customProperties[{SEVERITY}]",
                                  f"'{severity}' is not a severity; use one of {', '.join(_SEVERITIES)}")
    return Latency(obj=obj.name, column=column, seconds=seconds, severity=severity)


def is_lag(metric: str) -> bool:
    """Whether ``metric`` is a latency rule's (a lag, not a count)."""
    return metric.split(".", 1)[-1].split(":", 1)[0] in LATENCY_RULES


def lags(metrics: Mapping[str, Any], now_micros: int) -> dict[str, Any]:
    """``metrics`` with each latency rule's measure (the negated event time, in microseconds) turned
    into the lag at ``now_micros``, in seconds; ``None`` stays (no row had an event time)."""
    return {key: (now_micros + value) / 1_000_000 if is_lag(key) and value is not None else value
            for key, value in metrics.items()}
