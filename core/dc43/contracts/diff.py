"""What changes between two versions of a contract, as plain data.

:func:`diff_contracts` lists each change between two versions with whether it breaks someone and
why.  A change breaks when something that worked before may stop working: a reader's query (a
column gone, a narrower or different type, a schema object gone) or a producer's write (a new
required column, a rule added or made stricter whose failures warn or block, a stricter service
level).  Rules are compared by their plan keys; a threshold is stricter when the values it allows
are a subset of those it allowed.  The latency rules a ``latency`` SLA plans are compared as that
SLA, and ``not_null`` rules as the column becoming required or optional.  Schema objects, columns,
rules and service levels are read and worded as :mod:`dc43.contracts.outline` reads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from dc43.contracts.outline import (
    ROW_OPS,
    SIZE_OPS,
    Sla,
    columns_by_path,
    contract_slas,
    is_required,
    rule_limits,
    rule_phrase,
    schema_objects,
    tagged_rule_phrase,
    type_text,
)
from dc43.contracts.physical_types import Array, Atomic, Container, Decimal, Map, Struct, UnknownPhysicalType, parse_physical
from dc43.contracts.sla import LATENCY_RULES
from dc43.quality.plan import SEVERITIES, Expectation, Unsupported


@attrs.frozen
class Change:
    """One difference: what (``kind``), where (``orders.amount``, ``orders``, ``sla.frequency``),
    the text before and after, whether it breaks consumers or producers, and why."""

    kind: str
    where: str
    before: str | None
    after: str | None
    breaking: bool
    why: str


@attrs.frozen
class ContractDiff:
    """The changes from one contract version to another, breaking ones first."""

    changes: tuple[Change, ...] = ()

    @property
    def breaking(self) -> bool:
        return any(change.breaking for change in self.changes)


# -------------------------------------------------------------------------------------------------- diff

def diff_contracts(old: Any, new: Any) -> ContractDiff:
    """What changed from ``old`` to ``new``, each change with whether it breaks and why; breaking first,
    then by where.  Raises :class:`ContractFormatError` as :func:`~dc43.contracts.outline.contract_outline` does."""
    changes: list[Change] = []
    before = {label: (obj, plan) for label, obj, plan in schema_objects(old)}
    after = {label: (obj, plan) for label, obj, plan in schema_objects(new)}
    for label in before.keys() - after.keys():
        changes.append(Change("object_removed", label, label, None, True,
                              f"Consumers reading '{label}' lose it: the contract no longer has this schema object."))
    for label, (obj, plan) in after.items():
        if label not in before:
            changes.append(Change("object_added", label, None, label, False,
                                  "A new schema object: nothing that exists changes, so no reader or producer breaks."))
        else:
            changes += _object_changes(label, *before[label], obj, plan)
    changes += _sla_changes(contract_slas(old), contract_slas(new))
    changes.sort(key=lambda c: (not c.breaking, c.where, c.kind, c.before or "", c.after or ""))
    return ContractDiff(tuple(changes))


def _object_changes(label: str, old: Any, old_plan: Any, new: Any, new_plan: Any) -> list[Change]:
    changes = _renamed(label, old, new)
    old_columns, new_columns = dict(columns_by_path(old.properties)), dict(columns_by_path(new.properties))
    removed = [path for path in old_columns if path not in new_columns]
    added = [path for path in new_columns if path not in old_columns]
    for path in removed:
        if not _under(path, removed):
            changes.append(Change("column_removed", f"{label}.{path}", type_text(old_columns[path]), None, True,
                                  f"Consumers reading '{path}' break: the column is no longer in the contract."))
    for path in added:
        prop = new_columns[path]
        if _under(path, added):
            continue
        if is_required(prop):
            why = (f"A required column breaks producers: rows without a value in '{path}' now fail the contract; "
                   "readers are not affected.")
        else:
            why = "An optional column: readers can ignore it and producers may leave it out, so nothing breaks."
        after = ", ".join(text for text in (type_text(prop), "required" * is_required(prop)) if text)
        changes.append(Change("column_added", f"{label}.{path}", None, after, is_required(prop), why))
    for path in old_columns.keys() & new_columns.keys():
        changes += _column_changes(f"{label}.{path}", old_columns[path], new_columns[path])
    return changes + _rule_changes(label, old_plan, new_plan, {*removed, *added})


def _renamed(where: str, old: Any, new: Any) -> list[Change]:
    """The data's name (``physicalName``) of a schema object or column changed."""
    before, after = (old.physicalName or old.name or "").strip(), (new.physicalName or new.name or "").strip()
    if before == after:
        return []
    return [Change("physical_name_changed", where, before, after, True,
                   f"The data now names it '{after}': readers and writers that use '{before}' no longer find it.")]


def _under(path: str, paths: list[str]) -> bool:
    return any(path.startswith((f"{other}.", f"{other}[]")) for other in paths if other != path)


def _column_changes(where: str, old: Any, new: Any) -> list[Change]:
    changes = _renamed(where, old, new)
    kind = _type_change(old, new)
    before, after = type_text(old), type_text(new)
    if kind == "type_widened":
        changes.append(Change(kind, where, before, after, False,
                              f"{after} is wider than {before}: readers still get every value and producers' "
                              "data still passes."))
    elif kind == "type_narrowed":
        changes.append(Change(kind, where, before, after, True,
                              f"Not every {before} value fits {after}: producers' data may no longer pass and "
                              f"consumers get a narrower type than they read before."))
    elif kind == "type_changed":
        changes.append(Change(kind, where, before, after, True,
                              f"{after} holds other values than {before}: consumers' code written for {before} "
                              "breaks and producers must change what they write."))
    if is_required(old) != is_required(new):
        column = where.split(".", 1)[-1]
        changes.append(Change("became_required", where, "optional", "required", True,
                              f"Rows with a null '{column}' now fail: producers that leave it empty break.")
                       if is_required(new) else
                       Change("became_optional", where, "required", "optional", False,
                              "Nulls are now allowed: every row that passed still passes, so nothing breaks "
                              "(readers should expect nulls)."))
    return changes


# -------------------------------------------------------------------------------------------------- types

_LOGICAL = {"string": Atomic("string"), "integer": Atomic("bigint"), "number": Atomic("double"),
            "boolean": Atomic("boolean"), "date": Atomic("date"), "timestamp": Atomic("timestamp"),
            "time": Atomic("string"), "object": Container("object"), "array": Container("array")}
#: numbers by width, as Spark casts them up
_NUMBERS = ("tinyint", "smallint", "int", "bigint", "float", "double")
_DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}


def _node(prop: Any) -> Any:
    """The Spark type of a property (its physicalType, else its logicalType); None when unknown."""
    physical = (prop.physicalType or "").strip()
    if physical:
        try:
            return parse_physical(physical).node
        except UnknownPhysicalType:
            return None
    return _LOGICAL.get((prop.logicalType or "").strip().lower())


def _type_change(old: Any, new: Any) -> str | None:
    """``type_widened``, ``type_narrowed``, ``type_changed``, or None when both read as the same type
    (aliases such as ``integer`` and ``int``; a length or range a type declares is compared as a rule)."""
    if type_text(old).lower() == type_text(new).lower():
        return None
    before, after = _node(old), _node(new)
    if before is None or after is None:
        return "type_changed"
    if before == after:
        return None
    if _fits(before, after, as_text=False):
        return "type_widened"
    numbers = _is_number(before) and _is_number(after)
    return "type_narrowed" if numbers or _fits(after, before, as_text=True) else "type_changed"


def _is_number(node: Any) -> bool:
    return isinstance(node, Decimal) or (isinstance(node, Atomic) and node.name in _NUMBERS)


def _fits(small: Any, large: Any, *, as_text: bool) -> bool:
    """Whether every value of ``small`` is a value of ``large`` (``as_text``: a string holds any atomic
    value written out, which makes ``string`` -> ``int`` a narrowing, not a mere change)."""
    if small == large:
        return True
    if isinstance(small, Atomic) and isinstance(large, Atomic):
        a, b = small.name, large.name
        if as_text and b == "string" and a != "binary":
            return True
        if a in _NUMBERS and b in _NUMBERS:
            return _NUMBERS.index(a) <= _NUMBERS.index(b)
        return (a, b) in (("date", "timestamp"), ("date", "timestamp_ntz"))
    if isinstance(large, Decimal) and isinstance(small, (Atomic, Decimal)):
        if isinstance(small, Atomic):
            return small.name in _DIGITS and _DIGITS[small.name] <= large.precision - large.scale
        return small.scale <= large.scale and small.precision - small.scale <= large.precision - large.scale
    if isinstance(small, Decimal) and isinstance(large, Atomic):
        return as_text and large.name == "string"
    if isinstance(small, Array) and isinstance(large, Array):
        return _fits(small.element, large.element, as_text=as_text)
    if isinstance(small, Map) and isinstance(large, Map):
        return small.key == large.key and _fits(small.value, large.value, as_text=as_text)
    if isinstance(small, Struct) and isinstance(large, Struct):
        return [f.name for f in small.fields] == [f.name for f in large.fields] and all(
            _fits(a.type, b.type, as_text=as_text) for a, b in zip(small.fields, large.fields))
    return False


# -------------------------------------------------------------------------------------------------- rules

_FAILS = {"error": "fail and block the batch", "warning": "fail and warn", "info": "fail, which is only reported"}


def _rule_changes(label: str, old_plan: Any, new_plan: Any, gone: set[str]) -> list[Change]:
    """Rules compared by key; those on added or removed columns, ``not_null`` (the column's
    required flag) and latency (its SLA) are left to those changes."""
    def kept(rule: Expectation | Unsupported) -> bool:
        columns = rule.column.split(",") if rule.column else []
        return (rule.rule != "not_null" and rule.rule not in LATENCY_RULES
                and not any(c in gone or _under(c, list(gone)) for c in columns))

    def where(rule: Expectation | Unsupported) -> str:
        return f"{label}.{rule.column}" if rule.column else label

    (old_rules, old_unsupported), (new_rules, new_unsupported) = old_plan, new_plan
    before = {e.key: e for e in old_rules if kept(e)}
    after = {e.key: e for e in new_rules if kept(e)}
    changes = [Change("rule_removed", where(e), tagged_rule_phrase(e), None, False,
                      "One check fewer: every batch that passed still passes.")
               for key, e in before.items() if key not in after]
    for key, e in after.items():
        if key not in before:
            changes.append(Change("rule_added", where(e), None, tagged_rule_phrase(e), e.severity != "info",
                                  f"Data that passed before may now {_FAILS[e.severity]}."))
        else:
            changes += _rule_change(where(e), before[key], e)
    old_skipped = {u.key: u for u in old_unsupported if kept(u)}
    for u in new_unsupported:
        if kept(u) and u.key not in old_skipped:
            changes.append(Change("rule_malformed", where(u), None, u.rule, True,
                                  f"The rule is written wrongly ({u.reason}): pipelines refuse the contract until "
                                  "it is fixed.") if u.malformed else
                           Change("rule_added", where(u), None, f"{u.rule} (not checked)", False,
                                  f"dc43 does not evaluate this rule ({u.reason}), so no batch can fail it."))
    new_skipped = {u.key for u in new_unsupported}
    changes += [Change("rule_removed", where(u), f"{u.rule} (not checked)", None, False,
                       "The rule was not checked, so removing it changes nothing that passes or fails.")
                for key, u in old_skipped.items() if key not in new_skipped]
    return changes


def _rule_change(where: str, old: Expectation, new: Expectation) -> list[Change]:
    changes = []
    direction = _rule_direction(old, new)
    if direction == "loosened":
        changes.append(Change("rule_loosened", where, rule_phrase(old), rule_phrase(new), False,
                              "The rule allows more than before: every batch that passed still passes."))
    elif direction is not None:
        why = ("The rule allows less than before" if direction == "tightened" else "The rule checks something else")
        changes.append(Change(f"rule_{direction}", where, rule_phrase(old), rule_phrase(new), new.severity != "info",
                              f"{why}: data that passed may now {_FAILS[new.severity]}."))
    raised = SEVERITIES.index(new.severity) - SEVERITIES.index(old.severity)
    if raised:
        changes.append(_severity_change(where, old.severity, new.severity))
    return changes


#: what a failure does, by severity: now, and as said of before
_OUTCOME = {"error": ("blocks the batch", "blocked it"), "warning": ("warns", "warned"),
            "info": ("is only reported", "was only reported")}


def _severity_change(where: str, old: str, new: str) -> Change:
    if SEVERITIES.index(new) < SEVERITIES.index(old):
        return Change("severity_raised", where, old, new, True,
                      f"A failure now {_OUTCOME[new][0]} (before, it {_OUTCOME[old][1]}): data that passed may now "
                      "be stopped or flagged.")
    return Change("severity_lowered", where, old, new, False,
                  f"A failure now {_OUTCOME[new][0]} (before, it {_OUTCOME[old][1]}): whatever passed still passes.")


def _rule_direction(old: Expectation, new: Expectation) -> str | None:
    """``tightened``, ``loosened``, ``changed``, or None when the rule allows the same values."""
    if old.unit != new.unit:
        return "changed"
    if old.rule in ("enum", "not_enum"):
        a, b = (frozenset(map(repr, e.params["values"])) for e in (old, new))
        if a == b:
            return None
        if old.rule == "not_enum":
            a, b = b, a
        return "tightened" if b < a else "loosened" if a < b else "changed"
    limited = old.threshold is not None or old.rule in ROW_OPS or old.rule in SIZE_OPS
    # a threshold rule's params say what it measures; a volume change's factor is its threshold
    extra = [{k: v for k, v in e.params.items() if k != "factor"} if old.threshold is not None or not limited else {}
             for e in (old, new)]
    if old.rule == "unique_across" and extra[0] != extra[1]:
        return _horizon_direction(old.params["horizon"], new.params["horizon"])
    if extra[0] != extra[1]:
        return "changed"
    return _direction(rule_limits(old), rule_limits(new)) if limited else None


def _horizon_direction(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """A key kept longer (``{}``: forever) is a stricter rule; batches and seconds do not compare."""
    if old and new and (set(old) != set(new) or old.get("event_time") != new.get("event_time")):
        return "changed"
    a, b = (horizon.get("batches") or horizon.get("seconds") or math.inf for horizon in (old, new))
    return "tightened" if b > a else "loosened" if b < a else "changed"


def _direction(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """Compare the sets of values two thresholds allow: a subset is tighter, a superset looser."""
    try:
        a, b = _allowed(old), _allowed(new)
        narrower, wider = _within(b, a), _within(a, b)
    except (TypeError, ValueError, KeyError):
        return None if dict(old) == dict(new) else "changed"
    if narrower and wider:
        return None
    return "tightened" if narrower else "loosened" if wider else "changed"


def _allowed(ops: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(lower bound, upper bound, forbidden interval); a bound is (value, inclusive) or None."""
    low = high = forbidden = None
    for op, value in ops.items():
        if op == "mustBeBetween":
            bounds = [((value[0], True), None), (None, (value[1], True))]
        elif op in ("mustNotBeBetween", "mustNotBe"):
            if forbidden is not None:
                raise ValueError("two forbidden ranges")
            forbidden = (value[0], value[1]) if op == "mustNotBeBetween" else (value, value)
            continue
        else:
            inclusive = op in ("mustBe", "mustBeGreaterOrEqualTo", "mustBeLessOrEqualTo")
            bounds = [((value, inclusive) if op in ("mustBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo")
                       else None, (value, inclusive) if op in ("mustBe", "mustBeLessThan", "mustBeLessOrEqualTo")
                       else None)]
        for lower, upper in bounds:
            low = lower if lower is not None and _stricter(lower, low, 1) else low
            high = upper if upper is not None and _stricter(upper, high, -1) else high
    return low, high, forbidden


def _stricter(bound: Any, other: Any, sign: int) -> bool:
    """Whether ``bound`` allows no more than ``other`` (``sign`` 1 for lower bounds, -1 for upper)."""
    if other is None:
        return True
    if bound is None:
        return False
    if bound[0] != other[0]:
        return (bound[0] > other[0]) if sign > 0 else (bound[0] < other[0])
    return not bound[1] or other[1]


def _within(inner: tuple[Any, Any, Any], outer: tuple[Any, Any, Any]) -> bool:
    """Whether every value ``inner`` allows, ``outer`` allows."""
    if not (_stricter(inner[0], outer[0], 1) and _stricter(inner[1], outer[1], -1)):
        return False
    if outer[2] is None:
        return True
    return inner[2] is not None and inner[2][0] <= outer[2][0] and outer[2][1] <= inner[2][1]


# -------------------------------------------------------------------------------------------- SLA changes

#: service levels by the direction that makes them stricter for the producer
_STRICTER_WHEN = {"frequency": "lower", "latency": "lower", "retention": "higher"}


def _sla_changes(old: Mapping[str, Sla], new: Mapping[str, Sla]) -> list[Change]:
    changes = [Change("sla_removed", where, sla.text, None, False,
                      "The producer no longer promises this: nothing that was delivered fails, but consumers can no "
                      "longer rely on it.") for where, sla in old.items() if where not in new]
    changes += [Change("sla_added", where, None, sla.text, True,
                       "A new promise: the producer must now meet it, and what it delivered so far may not.")
                for where, sla in new.items() if where not in old]
    for where in old.keys() & new.keys():
        before, after = old[where], new[where]
        stricter = _STRICTER_WHEN.get(before.name)
        if before.seconds is not None and after.seconds is not None and stricter:
            if before.seconds != after.seconds:
                tighter = (after.seconds < before.seconds) == (stricter == "lower")
                changes.append(Change("sla_tightened", where, before.amount, after.amount, True,
                                      "A stricter promise: deliveries that met the old one may break it.")
                               if tighter else
                               Change("sla_loosened", where, before.amount, after.amount, False,
                                      "A weaker promise: whatever met the old one meets it, though consumers are "
                                      "promised less."))
        elif before.amount != after.amount:
            changes.append(Change("sla_changed", where, before.amount, after.amount, True,
                                  "The promise changed in a way dc43 cannot rank as stricter or looser: treat it as "
                                  "breaking until producers and consumers agree."))
        if before.severity != after.severity and {before.severity, after.severity} <= set(SEVERITIES):
            changes.append(_severity_change(where, before.severity, after.severity))
    return changes
