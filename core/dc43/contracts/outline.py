"""A contract for a person, as plain data.

:func:`contract_outline` renders a contract: each schema object's columns, its rules as short
sentences derived from the expectation plan (:func:`dc43.quality.plan.plan_contract`, so they say
what dc43 enforces) and the service levels.  How it reads schema objects, columns, rules and service
levels is public for :mod:`dc43.contracts.diff`, which words a change the way the outline words the
contract.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from dc43.contracts.sla import SECONDS, SEVERITY
from dc43.errors import ContractFormatError
from dc43.quality.across import describe as describe_horizon
from dc43.quality.plan import STREAM_RULES, VALUE_RULES, Expectation, Unsupported, plan_contract


@attrs.frozen
class ColumnOutline:
    """One property, by its dotted path (``customer.email``; ``tags[]`` for an array's items)."""

    name: str
    type: str  # the physicalType, else the logicalType
    logical_type: str
    physical_type: str
    required: bool  # required, or part of the primary key
    unique: bool
    primary_key: bool
    description: str = ""
    classification: str = ""


@attrs.frozen
class RuleOutline:
    """One rule as a sentence; ``checked`` is False for a rule dc43 does not evaluate (``reason`` says why)."""

    key: str
    column: str
    text: str
    severity: str
    description: str = ""
    checked: bool = True
    reason: str = ""


@attrs.frozen
class ObjectOutline:
    name: str
    description: str
    columns: tuple[ColumnOutline, ...]
    rules: tuple[RuleOutline, ...]


@attrs.frozen
class ContractOutline:
    """A contract rendered for a person: who it is, its schema objects and its service levels."""

    id: str
    version: str
    status: str
    name: str
    description: str
    objects: tuple[ObjectOutline, ...]
    slas: tuple[str, ...]




# ---------------------------------------------------------------------------------------------- outline

def contract_outline(contract: Any) -> ContractOutline:
    """``contract`` for a person.  A rule whose ``dc43.*`` custom property cannot be read raises
    :class:`ContractFormatError`, as a pipeline would; a malformed latency SLA only drops its rules."""
    objects = []
    for label, obj, (plan, unsupported) in schema_objects(contract):
        columns = tuple(ColumnOutline(
            name=path, type=type_text(prop), logical_type=prop.logicalType or "", physical_type=prop.physicalType or "",
            required=is_required(prop), unique=bool(prop.unique), primary_key=bool(prop.primaryKey),
            description=prop.description or "", classification=prop.classification or "")
            for path, prop in columns_by_path(obj.properties))
        rules = [RuleOutline(key=e.key, column=e.column, text=_sentence(e.column, tagged_rule_phrase(e)), severity=e.severity,
                             description=e.description) for e in plan]
        rules += [RuleOutline(key=u.key, column=u.column, severity=u.severity, description=u.description,
                              text=_sentence(u.column, f"rule '{u.rule}' is not checked: {u.reason}"),
                              checked=False, reason=u.reason) for u in unsupported]
        objects.append(ObjectOutline(name=label, description=obj.description or "", columns=columns, rules=tuple(rules)))
    return ContractOutline(id=contract.id, version=contract.version, status=contract.status or "",
                           name=contract.name or "", description=_description(contract), objects=tuple(objects),
                           slas=tuple(sla.text for sla in contract_slas(contract).values()))


def _description(contract: Any) -> str:
    described = contract.description
    if isinstance(described, str):
        return described
    parts = (getattr(described, field, None) for field in ("purpose", "usage", "limitations"))
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def schema_objects(contract: Any) -> Iterator[tuple[str, Any, tuple[list[Expectation], list[Unsupported]]]]:
    """Each schema object's label, the object and its plan (none for an unnamed object but the first)."""
    for index, obj in enumerate(contract.schema_ or []):
        if not obj.name and index:
            yield f"schema[{index}]", obj, ([], [])
            continue
        try:
            plan = plan_contract(contract, obj.name or None)
        except ContractFormatError:  # a malformed latency SLA: the SLAs say what it is
            plan = plan_contract(contract, obj.name or None, slas=False)
        yield obj.name or f"schema[{index}]", obj, plan


def columns_by_path(properties: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, property) of ``properties`` and their descendants, as the plan names them."""
    for prop in properties or []:
        path = f"{prefix}{prop.name}"
        yield path, prop
        yield from columns_by_path(prop.properties, f"{path}.")
        if prop.items is not None:
            yield f"{path}[]", prop.items
            yield from columns_by_path(prop.items.properties, f"{path}[].")


def is_required(prop: Any) -> bool:
    """Whether the property must hold a value: required, or part of the primary key."""
    return bool(prop.required or prop.primaryKey)


def type_text(prop: Any) -> str:
    """The property's type as written: its physicalType, else its logicalType."""
    return (prop.physicalType or prop.logicalType or "").strip()


# ------------------------------------------------------------------------------------------ rule sentences

#: the ``mustBe*`` operator of each row rule (``gt`` -> ``mustBeGreaterThan``) and size rule
ROW_OPS = {rule: op for op, rule in VALUE_RULES.items()}
SIZE_OPS = {"min_length": "mustBeGreaterOrEqualTo", "max_length": "mustBeLessOrEqualTo",
            "min_items": "mustBeGreaterOrEqualTo", "max_items": "mustBeLessOrEqualTo"}
_WORDS = {"mustBe": "be {}", "mustNotBe": "not be {}", "mustBeGreaterThan": "be greater than {}",
          "mustBeGreaterOrEqualTo": "be at least {}", "mustBeLessThan": "be less than {}",
          "mustBeLessOrEqualTo": "be at most {}", "mustBeBetween": "be between {} and {}",
          "mustNotBeBetween": "not be between {} and {}"}
#: counted rules: what a counted row does, after "may" and after "rows that"
_COUNTED = {"null_values": ("be null", "are null"), "missing_values": ("be missing", "are missing"),
            "duplicate_values": ("repeat another row's value", "repeat another row's value"),
            "duplicate_rows": ("repeat another row", "repeat another row")}
_MEASURED = {"row_count": "the row count", "sql": "the SQL query's result",
             "latency": "the largest lag of a micro-batch", "latency_p95": "the 95th percentile lag of a micro-batch",
             "volume_max": "the rows of the current {window} window", "volume_min": "the rows of each closed {window} window",
             "volume_change": "a batch's rows against the median of the {history} before"}
_FIXED = {"not_null": "must not be null", "unique": "must be unique within a batch",
          "unique_items": "must not repeat an item",
          "primary_key": "together identify a row: never null, never repeated within a batch"}
_SIZES = {"min_length": "at least {} characters", "max_length": "at most {} characters",
          "min_items": "at least {} items", "max_items": "at most {} items"}


def _value(value: Any) -> str:
    """A rule's operand as a person reads it: ``3.0`` as ``3``, strings quoted, lists listed."""
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(item) for item in value)
    return str(value)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _bounds(ops: Mapping[str, Any], show: Any = _value) -> str:
    """``{"mustBeGreaterOrEqualTo": 0, "mustBeLessThan": 9}`` as ``be at least 0 and less than 9``."""
    parts = [_WORDS[op].format(*(show(v) for v in (value if op.endswith("Between") else [value])))
             for op, value in ops.items()]
    return " and ".join(part[3:] if index and part.startswith("be ") and parts[0].startswith("be ") else part
                        for index, part in enumerate(parts))


def rule_phrase(e: Expectation) -> str:
    """What the rule asks, without its column: ``at most 5 rows may be null``, ``must be less than 20``."""
    params = e.params
    if e.threshold is not None:
        return _measured(e)
    if e.rule in ROW_OPS:
        return f"must {_bounds(rule_limits(e))}"
    if e.rule in _SIZES:
        return f"must have {_SIZES[e.rule].format(_value(params['value']))}"
    if e.rule in ("enum", "not_enum"):
        return f"must {'not ' * (e.rule == 'not_enum')}be one of {_value(params['values'])}"
    if e.rule == "regex":
        return f"must match the pattern {params['pattern']}"
    if e.rule == "format":
        return f"must be a valid {params['format']}"
    if e.rule == "unique_across":
        horizon = describe_horizon(params["horizon"])
        kept = "" if horizon == "unbounded" else f" (keys kept for {horizon})"
        return f"must not repeat a key an earlier micro-batch published{kept}"
    return _FIXED.get(e.rule, f"rule {e.rule}")


def _measured(e: Expectation) -> str:
    threshold, params = dict(e.threshold or {}), e.params
    if e.rule == "invalid_values":
        allowed = f"hold a value other than {_value(params['values'])}" if "values" in params else ""
        pattern = f"not match the pattern {params['pattern']}" if "pattern" in params else ""
        counted = " or ".join(part for part in (allowed, pattern) if part)
        return _counted(threshold, e.unit, counted, counted)
    if e.rule in _COUNTED:
        return _counted(threshold, e.unit, *_COUNTED[e.rule])
    show = {"seconds": _duration, "percent": lambda v: f"{_value(v)}%", "ratio": lambda v: f"{_value(v)}x"}
    window = _duration(params["window"]) if "window" in params else ""
    quantity = _MEASURED.get(e.rule, e.rule).format(window=window, history=params.get("history", ""))
    return f"{quantity} must {_bounds(threshold, show.get(e.unit, _value))}"


def _counted(threshold: Mapping[str, Any], unit: str, may: str, that: str) -> str:
    def rows(n: Any) -> str:
        return f"{_value(n)}% of rows" if unit == "percent" else f"{_value(n)} row{'' if n == 1 else 's'}"

    parts = []
    for op, value in threshold.items():
        if op == "mustBe" and value == 0:
            parts.append(f"no row may {may}")
        elif op in ("mustBeLessOrEqualTo", "mustBeLessThan"):
            parts.append(f"{'at most' if op == 'mustBeLessOrEqualTo' else 'fewer than'} {rows(value)} may {may}")
        elif op == "mustBeBetween":
            parts.append(f"between {_value(value[0])} and {rows(value[1])} may {may}")
        else:
            parts.append(f"the rows that {that} must {_bounds({op: value}, rows)}")
    return " and ".join(parts)


def tagged_rule_phrase(e: Expectation) -> str:
    """The rule's phrase with its severity (unless ``error``) and ``streams only`` when it applies."""
    tags = [e.severity] * (e.severity != "error") + ["streams only"] * (e.rule in STREAM_RULES)
    return rule_phrase(e) + (f" ({', '.join(tags)})" if tags else "")


def _sentence(column: str, phrase: str) -> str:
    return f"{column.replace(',', ', ')}: {phrase}" if column else phrase


def rule_limits(e: Expectation) -> dict[str, Any]:
    """The values a rule allows, as ``mustBe*`` operators (empty for rules without a limit)."""
    if e.threshold is not None:
        return dict(e.threshold)
    if e.rule in ROW_OPS:
        op = ROW_OPS[e.rule]
        return {op: [e.params["low"], e.params["high"]] if op.endswith("Between") else e.params["value"]}
    if e.rule in SIZE_OPS:
        return {SIZE_OPS[e.rule]: e.params["value"]}
    return {}


# -------------------------------------------------------------------------------------------------- SLAs

_LONG_UNITS = {**dict.fromkeys(("w", "week", "weeks"), 7 * 86400.0),
               **dict.fromkeys(("mo", "month", "months"), 30 * 86400.0),
               **dict.fromkeys(("y", "yr", "year", "years"), 365 * 86400.0)}


@attrs.frozen
class Sla:
    """One service level: its property (lower case), sentence, amount as written, that amount in seconds
    when it is a duration, and its severity (a latency SLA's only)."""

    name: str
    text: str
    amount: str
    seconds: float | None
    severity: str


def contract_slas(contract: Any) -> dict[str, Sla]:
    """The contract's service levels by where they stand (``sla.latency(events.ts)``)."""
    found: dict[str, Sla] = {}
    for prop in contract.slaProperties or []:
        name, element = str(prop.property or "").strip(), str(prop.element or "").strip()
        value = f"{prop.value:g}" if isinstance(prop.value, float) else str(prop.value if prop.value is not None else "")
        amount = f"{value} {prop.unit}" if prop.unit else value
        severity = ""
        if name.lower() == "frequency":
            text = f"frequency: a batch with rows at least every {amount}; a stream silent for longer is stale"
        elif name.lower() == "latency":
            severity = next((str(c.value).strip().lower() for c in prop.customProperties or []
                             if c.property == SEVERITY), "warning")
            text = f"latency: rows at most {amount} old when judged, by their time in {element or '?'} ({severity})"
        elif name.lower() == "retention":
            text = f"retention: data kept for {amount}" + (f", counted from {element}" if element else "")
        else:
            text = f"{name}: {amount}" + (f" ({element})" if element else "")
        where = f"sla.{name}" + (f"({element})" if element else "")
        where += f"#{sum(key.split('#')[0] == where for key in found) + 1}" if where in found else ""
        found[where] = Sla(name.lower(), text, amount, _seconds(prop.value, prop.unit), severity)
    return found


def _seconds(value: Any, unit: Any) -> float | None:
    size = {**SECONDS, **_LONG_UNITS}.get(str(unit or "").strip().lower())
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        return None
    return number * size if size is not None and math.isfinite(number) else None
