"""Volume over time: rows per window against ``rowCount`` bounds, and each micro-batch against
the stream's recent history.  Only streaming writes measure these rules: the batch side counts
them from each batch's row count (:mod:`dc43.volume_index`).

A ``rowCount`` rule with the custom property ``dc43.window`` (a duration: ``"15 min"``,
``"1 h"``, ``"1 day"``) is counted per tumbling window of processing time, aligned to the UTC
epoch (an hourly window runs from one full hour to the next).  Its bounds become two rules of
the rule's severity:

``volume_max:<object>``
    the rows the current window received so far, this batch included, against the upper
    bound (``mustBeLessThan``, ``mustBeLessOrEqualTo``, the top of ``mustBeBetween``): it
    fails at the batch that crosses it.
``volume_min:<object>``
    the fewest rows among the windows that closed since the previous batch (a window no
    batch reached counts 0), against the lower bound (``mustBeGreaterThan``,
    ``mustBeGreaterOrEqualTo``, the bottom of ``mustBeBetween``): judged at the first batch
    after a window closed.  The window the stream started in is not judged: the stream did
    not run for all of it.

The schema object's custom properties compare each batch with the ones before it:

``dc43.volumeChangeFactor``
    a number above 1: ``volume_change:<object>``, a warning, is the batch's rows divided by
    the median of the previous non-empty batches; it fails outside ``[1/factor, factor]``.
``dc43.volumeHistory``
    how many previous batches the median takes (default 10); the rule is judged once the
    stream has that many.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dc43.contracts.sla import SECONDS, amount
from dc43.errors import ContractFormatError

MAX, MIN, CHANGE = "volume_max", "volume_min", "volume_change"
RULES = (MAX, MIN, CHANGE)
WINDOW = "dc43.window"
FACTOR = "dc43.volumeChangeFactor"
HISTORY = "dc43.volumeHistory"
DEFAULT_HISTORY = 10
_UPPER = ("mustBeLessThan", "mustBeLessOrEqualTo")
_LOWER = ("mustBeGreaterThan", "mustBeGreaterOrEqualTo")


def _custom(item: Any) -> dict[str, Any]:
    return {prop.property: prop.value for prop in item.customProperties or []}


def window_of(rule: Any, label: str, where: str) -> float | None:
    """The window, in seconds, a ``rowCount`` rule's custom properties set; None when per batch."""
    value = _custom(rule).get(WINDOW)
    if value is None:
        return None
    number, unit = amount(value) or (0.0, "")
    if unit not in SECONDS or number <= 0:
        raise ContractFormatError(label, f"{where}.customProperties[{WINDOW}]",
                                  f"{value!r} is not a window dc43 knows; write a duration such as '15 min', "
                                  "'1 h' or '1 day'")
    return number * SECONDS[unit]


def bounds(threshold: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """A windowed ``rowCount`` threshold as (upper bound, lower bound, operators a window cannot take)."""
    upper = {op: v for op, v in threshold.items() if op in _UPPER}
    lower = {op: v for op, v in threshold.items() if op in _LOWER}
    if "mustBeBetween" in threshold:
        low, high = threshold["mustBeBetween"]
        upper["mustBeLessOrEqualTo"], lower["mustBeGreaterOrEqualTo"] = high, low
    others = [op for op in threshold if op not in (*_UPPER, *_LOWER, "mustBeBetween")]
    return upper, lower, others


def change_of(obj: Any, label: str) -> dict[str, Any] | None:
    """``{"factor": f, "history": n}`` from the schema object's custom properties; None when unset."""
    found = _custom(obj)
    if FACTOR not in found:
        if HISTORY in found:
            raise ContractFormatError(label, f"schema[{obj.name}].customProperties[{HISTORY}]",
                                      f"it needs {FACTOR} (how far a batch may stray from the median)")
        return None
    factor = _number(found[FACTOR])
    if factor is None or factor <= 1:
        raise ContractFormatError(label, f"schema[{obj.name}].customProperties[{FACTOR}]",
                                  f"{found[FACTOR]!r} must be a number above 1 (3: a batch a third or three "
                                  "times the median warns)")
    history = _number(found.get(HISTORY, DEFAULT_HISTORY))
    if history is None or not history.is_integer() or history < 1:
        raise ContractFormatError(label, f"schema[{obj.name}].customProperties[{HISTORY}]",
                                  f"{found[HISTORY]!r} must be a whole number of batches, 1 or more")
    return {"factor": factor, "history": int(history)}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
