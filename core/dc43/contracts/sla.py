"""The contract's service levels dc43 watches: ``slaProperties`` with ``property: frequency``.

``frequency`` (``value`` and ``unit``) is how often the data must arrive: a stream that
delivers no batch, or only empty ones, for longer is stale (:mod:`dc43.freshness`).
Units: ``s``/``sec``/``seconds``, ``m``/``min``/``minutes``, ``h``/``hr``/``hours``,
``d``/``day``/``days``.
"""

from __future__ import annotations

from typing import Any

from dc43.errors import ContractFormatError

SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
}


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
    if value <= 0:
        raise ContractFormatError(_label(contract), f"slaProperties[{prop.property}].value",
                                  f"{prop.value!r} must be a number above 0 ({prop.unit})")
    return value * SECONDS[unit]


def frequency_s(contract: Any) -> float | None:
    """How often, in seconds, the contract says data arrives; ``None`` when it does not say."""
    for prop in getattr(contract, "slaProperties", None) or []:
        if str(prop.property or "").strip().lower() == "frequency":
            return duration_s(contract, prop)
    return None
