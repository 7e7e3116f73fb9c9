"""The expectation plan: what a contract asks of every batch, as plain data.

A plan is a list of :class:`Expectation` derived from one schema object of an
ODCS contract (the first by default, as for the schema check); the Spark side
compiles it once per query.  There are two kinds:

* **Per-row rules** (``threshold is None``): each row passes or fails, the
  metric ``violations.<key>`` counts the failing rows and any count above zero
  fails the rule.  ``required``, ``unique``, ``primaryKey``, property quality
  without a metric (``mustBe``, ``mustNotBe``, ``mustBeGreaterThan``, ...,
  ``mustBeBetween``, ``mustNotBeBetween``), rules ``enum`` and ``regex``, the
  property's ``enum`` and its ``logicalTypeOptions`` are per-row rules.
* **Threshold rules**: a measured value compared with the rule's ``mustBe*``
  operators (``threshold``: operator -> value; ``{"mustBe": 0}`` when none is
  given).  The metric ``metrics.<key>`` holds the measured value; the
  data-quality service decides pass or fail, turning a count into a percent of
  ``row_count`` for ``unit: percent``.  ODCS library metrics (``nullValues``,
  ``missingValues``, ``invalidValues``, ``duplicateValues``, ``rowCount``),
  duplicate rows and SQL rules (``type: sql``) are threshold rules.  A SQL
  rule's query returns one value and names the batch ``${object}`` (or
  ``{object}``, or its schema object's ``name`` or ``physicalName`` as a table:
  ``params["tables"]``) and, on a property, the column ``${property}``.

Only ``violations.*`` metrics add up to a batch's violation total: a threshold
rule's count is a measurement the contract may tolerate.

Keys are ``<rule>:<dotted path>`` (``not_null:customer``, ``gt:amount``,
``regex:customer.email``), ``primary_key:<a>,<b>`` for composite keys (in
``primaryKeyPosition`` order), ``row_count:<object>``, ``duplicate_rows:<object>``
(or ``duplicate_rows:<a>,<b>`` over listed properties) and ``sql:<path or
object>``.  A second, different rule with the same key gets ``#2``, ``#3``...

Semantics the compiler implements:

* a check that evaluates to NULL is a violation, except a null in an optional
  column; rows where an optional parent struct is null are not checked;
* with column types, compared values that cannot be cast become NULL (a string
  column compared with numbers is read as double), so they violate instead of
  failing the query under ANSI mode;
* a composite primary key is violated by a row with any key column null or a
  repeat of an earlier key tuple;
* NaN in a float/double column violates every comparison and range rule;
* patterns are Java regular expressions matched with ``rlike``: a partial match
  passes unless the pattern is anchored with ``^`` and ``$``;
* lengths count characters (``"日本"`` has length 2);
* ``format`` is checked on strings only (email, uuid, date, date-time, ipv4);
  on other types it, like ``timezone``, describes a representation;
* ``unique``, ``duplicateValues`` and ``invalidValues`` ignore nulls; duplicate
  rows compare whole tuples, nulls included; ``missingValues`` defaults to null
  and ``""`` for strings, null otherwise;
* uniqueness is exact within one batch (or approximate, when the compiler is
  asked to); each ``unique`` and primary key also has a ``unique_across:<columns>``
  rule, which streaming writes check against the keys earlier micro-batches
  published (:mod:`dc43.quality.across`); a key with a null part is not kept;
* a ``rowCount`` with ``dc43.window`` becomes ``volume_max:<object>`` and
  ``volume_min:<object>``, and the object's ``dc43.volumeChangeFactor`` adds
  ``volume_change:<object>``: streaming writes count them from each batch's row
  count (:mod:`dc43.quality.volume`).

Rules the engine cannot evaluate are returned as :class:`Unsupported`, never
dropped; an unknown ``severity`` is treated as ``error`` and noted.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

import dc43.quality.volume as volume
from dc43.contracts.physical_types import Atomic, Decimal, PhysicalType, UnknownPhysicalType, parse_physical
from dc43.contracts.sla import LATENCY_RULES, latencies
from dc43.errors import ContractFormatError, InvalidArgumentError, SchemaMappingError, did_you_mean
from dc43.quality.across import RULE as ACROSS
from dc43.quality.across import horizon_of

ROW_COUNT = "row_count"
#: rules only streaming writes measure: keys across micro-batches, each batch's lag, volume over time
STREAM_RULES = (ACROSS, *LATENCY_RULES, *volume.RULES)
SEVERITIES = ("error", "warning", "info")
UNITS = ("rows", "percent")  # and "seconds" (latency), "ratio" (volume change)
VALUE_RULES = {
    "mustBe": "eq",
    "mustNotBe": "ne",
    "mustBeGreaterThan": "gt",
    "mustBeGreaterOrEqualTo": "ge",
    "mustBeLessThan": "lt",
    "mustBeLessOrEqualTo": "le",
    "mustBeBetween": "between",
    "mustNotBeBetween": "not_between",
}
OPERATORS = tuple(VALUE_RULES)
PROPERTY_METRICS = {
    "nullvalues": "null_values",
    "missingvalues": "missing_values",
    "invalidvalues": "invalid_values",
    "duplicatevalues": "duplicate_values",
}
OBJECT_METRICS = {"rowcount": "row_count", "duplicaterows": "duplicate_rows",
                  "duplicatevalues": "duplicate_rows"}
# Anchored with \z so a trailing newline does not pass.
FORMATS = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+\z",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\z",
    "date": r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\z",
    "date-time": r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
                 r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)\z",
    "ipv4": r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\z",
}
_DESCRIPTIVE_OPTIONS = ("timezone", "defaultTimezone")
#: ODCS options dc43 checks, and those it does not (a warning); any other name is a mistake
_OPTIONS = ("format", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum", "minItems", "maxItems", "uniqueItems")
_UNCHECKED_OPTIONS = ("multipleOf", "minProperties", "maxProperties", "required", "contentEncoding",
                      "contentMediaType")
RULE_TYPES = ("library", "sql", "text", "custom")
_NUMBERS = tuple(Atomic(name) for name in ("tinyint", "smallint", "int", "bigint", "float", "double"))
_BOUNDS = (("minimum", "exclusiveMinimum", "ge", "gt"), ("maximum", "exclusiveMaximum", "le", "lt"))
_SIZES = {"minLength": "min_length", "maxLength": "max_length",
          "minItems": "min_items", "maxItems": "max_items"}


@attrs.frozen
class Expectation:
    """One rule; its metric is ``violations.<key>``, or ``metrics.<key>`` with a threshold.

    ``column`` is a dotted path (empty for object-level rules); ``optional_parent``
    is the nearest optional ancestor struct, whose null rows are not checked.
    """

    key: str
    rule: str
    column: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    severity: str = "error"
    optional: bool = True
    description: str = ""
    threshold: Mapping[str, Any] | None = None
    unit: str = "rows"
    optional_parent: str = ""
    note: str = ""

    @property
    def metric(self) -> str:
        prefix = "violations" if self.threshold is None else "metrics"
        return f"{prefix}.{self.key}"

    @classmethod
    def coerce(cls, value: Expectation | Mapping[str, Any]) -> Expectation:
        """Accept an :class:`Expectation` or a mapping with the same fields."""
        if isinstance(value, cls):
            return value
        data = dict(value)
        unknown = set(data) - {f.name for f in attrs.fields(cls)}
        if unknown or not {"key", "rule", "column"} <= set(data):
            raise InvalidArgumentError(
                f"expectation {value!r} is malformed: it needs key, rule and column"
                + (f" and has unknown fields {sorted(unknown)}" if unknown else "")
            )
        return cls(**data)


@attrs.frozen
class Unsupported:
    """A contract rule the engine cannot evaluate: reported, never silently dropped."""

    key: str
    rule: str
    column: str
    reason: str
    severity: str = "error"
    description: str = ""
    #: written wrongly (a misspelled rule, an inverted range, no query): a pipeline refuses it;
    #: else a rule dc43 does not evaluate (``type: custom``, an unchecked format): a warning
    malformed: bool = False

    @property
    def message(self) -> str:
        where = f"column '{self.column}'" if self.column else "the schema object"
        outcome = "cannot be read" if self.malformed else "was not evaluated"
        return f"{self.key}: rule '{self.rule}' on {where} {outcome}: {self.reason}"


@attrs.frozen
class _Scope:
    """Where a rule applies: a property (``path``) or the schema object (empty path).

    ``target`` names the rule in keys: the path, the object name or a list of columns.
    """

    path: str
    target: str = attrs.field(default=attrs.Factory(lambda self: self.path, takes_self=True))
    optional: bool = True
    parent: str = ""
    is_string: bool = False
    is_number: bool = False

    def expectation(self, rule: str, **fields: Any) -> Expectation:
        fields.setdefault("optional", self.optional)
        return Expectation(key=f"{rule}:{self.target}", rule=rule, column=self.path,
                           optional_parent=self.parent, **fields)

    def unsupported(self, rule: str, reason: str) -> Unsupported:
        return Unsupported(key=f"{rule}:{self.target}", rule=rule, column=self.path, reason=reason)

    def malformed(self, rule: str, reason: str) -> Unsupported:
        return Unsupported(key=f"{rule}:{self.target}", rule=rule, column=self.path, reason=reason, malformed=True)


def expectations_for(contract: Any) -> list[Expectation]:
    """The expectation plan of the contract's first schema object."""
    return plan_contract(contract)[0]


def plan_contract(contract: Any, object_name: str | None = None, *, slas: bool = True
                  ) -> tuple[list[Expectation], list[Unsupported]]:
    """The plan of one schema object (the first by default) and the rules it cannot check;
    ``slas=False`` leaves out the latency rules (what ``dc43 validate`` does once it found them malformed)."""
    obj = _schema_object(contract, object_name)
    if obj is None:
        return [], []
    plan: list[Expectation] = []
    unsupported: list[Unsupported] = []
    for item in _object_items(obj, horizon_of(contract, obj), _label(contract)):
        if isinstance(item, Unsupported):
            unsupported.append(item)
        else:
            _add(plan, item)
    change = volume.change_of(obj, _label(contract))
    if change is not None:
        _add(plan, Expectation(key=f"{volume.CHANGE}:{obj.name}", rule=volume.CHANGE, column="", params=change,
                               severity="warning", unit="ratio",
                               threshold={"mustBeBetween": [1 / change["factor"], change["factor"]]},
                               description=f"a batch's rows against the median of the {change['history']} before"))
    names = [name for name in (obj.name, obj.physicalName) if name]  # what a SQL rule may call its batch
    plan[:] = [attrs.evolve(e, params={**e.params, "tables": names}) if e.rule == "sql" else e for e in plan]
    for sla in latencies(contract) if slas else []:
        if sla.obj == obj.name:
            for rule, what in zip(LATENCY_RULES, ("largest lag", "95th percentile lag"), strict=True):
                _add(plan, Expectation(key=f"{rule}:{sla.column}", rule=rule, column=sla.column, severity=sla.severity,
                                       threshold={"mustBeLessOrEqualTo": sla.seconds}, unit="seconds",
                                       description=f"slaProperties latency: the {what} of a micro-batch"))
    return plan, unsupported


def total_violations(metrics: Mapping[str, Any]) -> int:
    """Sum of every ``violations.*`` metric."""
    return sum(int(v or 0) for k, v in metrics.items() if k.startswith("violations."))


def _schema_object(contract: Any, object_name: str | None) -> Any:
    objects = contract.schema_ or []
    if object_name is None:
        return objects[0] if objects else None
    for obj in objects:
        if obj.name == object_name:
            return obj
    raise SchemaMappingError(f"contract '{contract.id}' has no schema object '{object_name}'; "
                             f"use one of: {', '.join(repr(o.name) for o in objects)}")


def _add(plan: list[Expectation], new: Expectation) -> None:
    """Append ``new``; an identical rule merges (strictest severity), a clash gets ``#n``."""
    def shape(e: Expectation) -> Expectation:
        return attrs.evolve(e, key=e.key.split("#")[0], severity="error", description="", note="")

    for index, old in enumerate(plan):
        if shape(old) == shape(new):
            if SEVERITIES.index(new.severity) < SEVERITIES.index(old.severity):
                plan[index] = attrs.evolve(old, severity=new.severity)
            return
    taken = {e.key for e in plan}
    key, n = new.key, 1
    while key in taken:
        n += 1
        key = f"{new.key}#{n}"
    plan.append(attrs.evolve(new, key=key))


def _object_items(obj: Any, horizon: Mapping[str, Any] | None, label: str) -> Iterator[Expectation | Unsupported]:
    properties = list(obj.properties or [])
    keyed: list[tuple[int, int, _Scope]] = []
    for index, (path, prop, scope) in enumerate(_walk(properties, "", "", in_array=False)):
        if scope is None:
            yield from _array_element_items(path, prop)
            continue
        if prop.primaryKey:
            keyed.append((prop.primaryKeyPosition or 0, index, scope))
        yield from _property_items(scope, prop, horizon)
    ordered = [scope for *_, scope in sorted(keyed, key=lambda k: (k[0] <= 0, k[0], k[1]))]
    yield from _primary_key(ordered, horizon)
    columns = [prop.name for prop in properties if prop.name]
    for index, rule in enumerate(obj.quality or []):
        where = f"schema[{obj.name}].quality[{index}]"
        yield from (_reported(item, rule) for item in _object_rule(obj.name or "object", columns, rule, label, where))


def _walk(properties: Iterable[Any], prefix: str, parent: str, *, in_array: bool
          ) -> Iterator[tuple[str, Any, _Scope | None]]:
    for prop in properties:
        yield from _walk_one(prop, f"{prefix}{prop.name}", parent, in_array=in_array)


def _walk_one(prop: Any, path: str, parent: str, *, in_array: bool
              ) -> Iterator[tuple[str, Any, _Scope | None]]:
    """(path, property, scope) of ``prop`` and its descendants; no scope inside arrays."""
    scope = None if in_array else _Scope(path, optional=not prop.required, parent=parent,
                                         is_string=_is_string(prop), is_number=_is_number(prop))
    yield path, prop, scope
    child_parent = parent if prop.required else path
    yield from _walk(prop.properties or [], f"{path}.", child_parent, in_array=in_array)
    if prop.items is not None:
        yield from _walk_one(prop.items, f"{path}[]", child_parent, in_array=True)


def _is_string(prop: Any) -> bool:
    logical = (prop.logicalType or "").lower()
    physical = _physical(prop)
    return logical == "string" or (not logical and physical is not None and physical.node == Atomic("string"))


def _is_number(prop: Any) -> bool:
    logical = (prop.logicalType or "").lower()
    physical = _physical(prop)
    numeric = isinstance(physical.node, Decimal) or physical.node in _NUMBERS if physical is not None else False
    return logical in ("number", "integer") or (not logical and numeric)


def _physical(prop: Any) -> PhysicalType | None:
    """``prop``'s physical type read, or None (none given, or read through the logicalType instead)."""
    if not (prop.physicalType or "").strip():
        return None
    try:
        return parse_physical(prop.physicalType)
    except UnknownPhysicalType:
        return None


def _array_element_items(path: str, prop: Any) -> Iterator[Unsupported]:
    scope = _Scope(path)
    names = [_rule_name(rule) or "quality" for rule in prop.quality or []]
    names += ["logicalTypeOptions"] * bool(prop.logicalTypeOptions) + ["unique"] * bool(prop.unique)
    for name in names:
        yield scope.unsupported(name, "rules on array elements are not evaluated")


def _property_items(scope: _Scope, prop: Any, horizon: Mapping[str, Any] | None) -> Iterator[Expectation | Unsupported]:
    if prop.required:
        yield scope.expectation("not_null", optional=False)
    if prop.unique:
        yield scope.expectation("unique")
        yield from _across(scope, [scope.path], horizon)
    if prop.enum:
        yield scope.expectation("enum", params={"values": [v.value for v in prop.enum]}, description="enum")
    yield from _declared_limits(scope, _physical(prop))
    yield from _type_options(scope, dict(prop.logicalTypeOptions or {}))
    for rule in prop.quality or []:
        yield from (_reported(item, rule) for item in _property_rule(scope, rule))


def _primary_key(scopes: list[_Scope], horizon: Mapping[str, Any] | None) -> Iterator[Expectation]:
    if len(scopes) == 1:
        yield scopes[0].expectation("not_null", optional=False)
        yield scopes[0].expectation("unique")
        yield from _across(scopes[0], [scopes[0].path], horizon)
    elif scopes:
        paths = [scope.path for scope in scopes]
        scope = _Scope(",".join(paths), optional=False)
        yield scope.expectation("primary_key", params={"columns": paths}, description="primaryKey")
        yield from _across(scope, paths, horizon)


def _across(scope: _Scope, paths: list[str], horizon: Mapping[str, Any] | None) -> Iterator[Expectation]:
    """The rule keeping a key unique across a stream's micro-batches (:mod:`dc43.quality.across`),
    unless the contract keeps keys unique within each batch only (``horizon`` None)."""
    if horizon is None:
        return
    yield scope.expectation(ACROSS, params={"columns": paths, "horizon": dict(horizon)},
                             description="unique across micro-batches")


def _declared_limits(scope: _Scope, physical: PhysicalType | None) -> Iterator[Expectation]:
    """What a physical type declares beyond its Spark type: a length (``varchar(2)``), a range
    (``int unsigned``, ``float(5,2)``), allowed values (``enum('a','b')``).  A decimal's precision and
    scale need no rule: a value that does not fit is counted by the cast to the contract's type."""
    if physical is None:
        return
    described = f"physicalType {physical.text}"
    if physical.max_length is not None:
        yield scope.expectation("max_length", params={"value": physical.max_length}, description=described)
    if physical.low is not None and physical.high is not None:
        yield scope.expectation("between", params={"low": physical.low, "high": physical.high}, description=described)
    elif physical.low is not None:
        yield scope.expectation("ge", params={"value": physical.low}, description=described)
    if physical.values:
        yield scope.expectation("enum", params={"values": list(physical.values)}, description=described)


def _type_options(scope: _Scope, options: dict[str, Any]) -> Iterator[Expectation | Unsupported]:
    def check(rule: str, option: str, **params: Any) -> Expectation:
        return scope.expectation(rule, params=params, description=f"logicalTypeOptions.{option}")

    for bound, exclusive, inclusive_rule, exclusive_rule in _BOUNDS:
        value, flag = options.pop(bound, None), options.pop(exclusive, None)
        if isinstance(flag, bool):  # JSON Schema draft 4: the flag modifies the bound
            if value is not None:
                yield check(exclusive_rule if flag else inclusive_rule, bound, value=value)
            elif flag:
                yield scope.malformed(exclusive, f"'{exclusive}: true' needs '{bound}'; add it or "
                                                   f"write '{exclusive}: <number>'")
            continue
        if value is not None:
            yield check(inclusive_rule, bound, value=value)
        if flag is not None:
            yield check(exclusive_rule, exclusive, value=flag)
    for option, rule in _SIZES.items():
        if option in options:
            yield check(rule, option, value=options.pop(option))
    if options.pop("uniqueItems", False):
        yield check("unique_items", "uniqueItems")
    if "pattern" in options:
        yield check("regex", "pattern", pattern=options.pop("pattern"))
    fmt = options.pop("format", None)
    if fmt is not None and scope.is_string:
        name = str(fmt).lower()
        if name in FORMATS:
            yield check("format", "format", format=name, pattern=FORMATS[name])
        else:
            yield scope.unsupported("format", f"format '{fmt}' cannot be checked; checkable formats: "
                                              f"{', '.join(FORMATS)}")
    for option in sorted(set(options) - set(_DESCRIPTIVE_OPTIONS)):
        if option in _UNCHECKED_OPTIONS:
            yield scope.unsupported(option, f"'logicalTypeOptions.{option}' is not a check dc43 knows")
        else:
            yield scope.malformed(option, f"'logicalTypeOptions.{option}' is not an ODCS option"
                                          f"{did_you_mean(option, [*_OPTIONS, *_UNCHECKED_OPTIONS])}")


def _rule_name(rule: Any) -> str:
    return (rule.metric or rule.rule or "").strip()


def _severity(raw: str | None) -> tuple[str, str]:
    value = (raw or "error").strip().lower()
    if value in SEVERITIES:
        return value, ""
    return "error", f"severity '{raw}' is not one of {', '.join(SEVERITIES)}; treated as error"


def _common(rule: Any) -> dict[str, Any]:
    severity, note = _severity(rule.severity)
    return {"severity": severity, "note": note, "description": rule.description or ""}


def _reported(item: Expectation | Unsupported, rule: Any) -> Expectation | Unsupported:
    """``item``; when it is unsupported, with the contract rule's severity and description."""
    if isinstance(item, Expectation):
        return item
    return attrs.evolve(item, severity=_severity(rule.severity)[0], description=rule.description or "")


def _threshold(rule: Any) -> dict[str, Any]:
    return {op: getattr(rule, op) for op in OPERATORS if getattr(rule, op) is not None}


def _other_type(scope: _Scope, rule: Any) -> Unsupported:
    if (rule.type or "").lower() not in RULE_TYPES:
        return scope.malformed(_rule_name(rule) or rule.type, f"'type: {rule.type}' is not an ODCS rule type"
                                                              f"{did_you_mean(rule.type, RULE_TYPES)}; use one of "
                                                              f"{', '.join(RULE_TYPES)}")
    return scope.unsupported(_rule_name(rule) or rule.type, f"'type: {rule.type}' rules are not evaluated "
                                                            "by dc43; use type library or sql")


def _property_rule(scope: _Scope, rule: Any) -> Iterator[Expectation | Unsupported]:
    common = _common(rule)
    name = _rule_name(rule)
    kind = (rule.type or "library").lower()
    if kind == "sql":
        yield _sql_rule(scope, rule, common)
    elif kind != "library":
        yield _other_type(scope, rule)
    elif name.lower() in PROPERTY_METRICS:
        yield _threshold_rule(scope, rule, PROPERTY_METRICS[name.lower()], common)
    elif name.lower() == "enum":
        yield from _enum_rule(scope, rule, common)
    elif name.lower() == "regex":
        if isinstance(rule.mustBe, str):
            yield scope.expectation("regex", params={"pattern": rule.mustBe}, **common)
        else:
            yield scope.malformed(name, "rule 'regex' needs the pattern as a string in 'mustBe'")
    elif name:
        known = ["enum", "regex", "nullValues", "missingValues", "invalidValues", "duplicateValues"]
        yield scope.malformed(name, f"unknown rule or metric '{name}'{did_you_mean(name, known)}; known: "
                                    f"{', '.join(known)}")
    else:
        yield from _value_rules(scope, rule, common)


def _value_rules(scope: _Scope, rule: Any, common: dict[str, Any]) -> Iterator[Expectation | Unsupported]:
    threshold = _threshold(rule)
    if not threshold:
        yield scope.malformed("quality", "the rule has no metric, rule or mustBe* operator")
    for op, value in threshold.items():
        rule_name = VALUE_RULES[op]
        if op in ("mustBe", "mustNotBe") and isinstance(value, (list, dict)):
            yield scope.malformed(rule_name, f"'{op}' without a rule compares one value; for a list of "
                                               "values use 'rule: enum'")
        elif rule_name in ("between", "not_between"):
            if not isinstance(value, list) or len(value) != 2:
                yield scope.malformed(rule_name, f"'{op}: {value!r}' needs two values, [low, high]")
            elif (problem := _limit_problem(scope, value[0]) or _limit_problem(scope, value[1])) is not None:
                yield scope.malformed(rule_name, f"'{op}: {value!r}': {problem}")
            elif _ordered(value[0], value[1]) is False:
                yield scope.malformed(rule_name, f"'{op}: {value}' needs [low, high] with low <= high; write "
                                                 f"[{value[1]}, {value[0]}]")
            else:
                yield scope.expectation(rule_name, params={"low": value[0], "high": value[1]}, **common)
        elif (problem := _limit_problem(scope, value)) is not None:
            yield scope.malformed(rule_name, f"'{op}: {value!r}': {problem}")
        else:
            yield scope.expectation(rule_name, params={"value": value}, **common)


def _limit_problem(scope: _Scope, value: Any) -> str | None:
    """What is wrong with a value rule's limit, or None: NaN compares with nothing, and a number
    column is compared with numbers (a numeric string is one)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "a limit must be a finite number"
    if scope.is_number and (isinstance(value, bool) or not isinstance(value, (numbers.Real, str))):
        return f"the column holds numbers, not {type(value).__name__}; write the limit as a number"
    if scope.is_number and isinstance(value, str):
        try:
            if math.isfinite(float(value)):
                return None
        except ValueError:
            pass
        return f"the column holds numbers; {value!r} is not one"
    return None


def _ordered(low: Any, high: Any) -> bool | None:
    """Whether ``low <= high``; None when they do not compare (a string and a number)."""
    try:
        return bool(low <= high)
    except TypeError:
        return None


def refuse_malformed(contract: Any, unsupported: Iterable[Unsupported]) -> None:
    """Raise :class:`ContractFormatError` naming every rule written wrongly (a pipeline would else
    write rows against a rule it never checks)."""
    malformed = [item for item in unsupported if item.malformed]
    if malformed:
        raise ContractFormatError(_label(contract), ", ".join(item.key for item in malformed),
                                  "; ".join(item.message for item in malformed) + ". Fix the rules in the contract")


def _enum_rule(scope: _Scope, rule: Any, common: dict[str, Any]) -> Iterator[Expectation | Unsupported]:
    allowed, forbidden = rule.mustBe, rule.mustNotBe
    if isinstance(allowed, list):
        yield scope.expectation("enum", params={"values": allowed}, **common)
    if isinstance(forbidden, list):
        yield scope.expectation("not_enum", params={"values": forbidden}, **common)
    if not isinstance(allowed, list) and not isinstance(forbidden, list):
        yield scope.malformed("enum", "rule 'enum' needs a list in 'mustBe' (allowed values) or "
                                        "'mustNotBe' (forbidden values)")


def _threshold_rule(scope: _Scope, rule: Any, name: str, common: dict[str, Any], *,
                    params: Mapping[str, Any] | None = None, counts: bool = True) -> Expectation | Unsupported:
    """A rule on a measured value: must be 0 unless the rule gives mustBe* operators."""
    threshold = _threshold(rule) or {"mustBe": 0}
    for op in ("mustBe", "mustNotBe"):
        value = threshold.get(op)
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                  or not math.isfinite(value)):
            return scope.malformed(name, f"'{op}: {value!r}' must be a number")
    for op, value in threshold.items():
        values = value if isinstance(value, list) and op.endswith("Between") else [value]
        if any(isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) for v in values):
            return scope.malformed(name, f"'{op}: {value!r}' must be a number" +
                                   (" pair, [low, high]" if op.endswith("Between") else ""))
        if op.endswith("Between") and (len(values) != 2 or values[0] > values[1]):
            return scope.malformed(name, f"'{op}: {value!r}' needs [low, high] with low <= high")
    unit = (rule.unit or "rows").lower() if counts else "rows"
    if unit not in UNITS:
        return scope.malformed(name, f"unit '{rule.unit}' is not one of {', '.join(UNITS)}"
                                     f"{did_you_mean(rule.unit, UNITS)}")
    params = dict(params or {})
    arguments = dict(rule.arguments or {})
    if name == "missing_values":
        params["values"] = list(arguments.get("missingValues", [None, ""] if scope.is_string else [None]))
    elif name == "invalid_values":
        if "validValues" in arguments:
            params["values"] = list(arguments["validValues"])
        if "pattern" in arguments:
            params["pattern"] = arguments["pattern"]
        if not params:
            return scope.malformed(name, "metric 'invalidValues' needs arguments 'validValues' or "
                                           "'pattern'")
    return scope.expectation(name, params=params, threshold=threshold, unit=unit, **common)


def _sql_rule(scope: _Scope, rule: Any, common: dict[str, Any]) -> Expectation | Unsupported:
    query = rule.query or ""
    if not query.strip():
        return scope.malformed("sql", "a 'type: sql' rule needs a 'query'")
    if scope.path:
        column = ".".join(f"`{part}`" for part in scope.path.split("."))
        query = query.replace("${property}", column).replace("{property}", column)
    return _threshold_rule(scope, rule, "sql", common, params={"query": query}, counts=False)


def _object_rule(name: str, columns: list[str], rule: Any, label: str, where: str
                 ) -> Iterator[Expectation | Unsupported]:
    metric = _rule_name(rule)
    short = OBJECT_METRICS.get(metric.lower())
    listed = list((rule.arguments or {}).get("properties") or []) if short == "duplicate_rows" else []
    scope = _Scope("", target=",".join(listed) or name, optional=False)
    common = _common(rule)
    kind = (rule.type or "library").lower()
    if kind == "sql":
        yield _sql_rule(scope, rule, common)
    elif kind != "library":
        yield _other_type(scope, rule)
    elif short is None:
        known = ["rowCount", "duplicateRows", "duplicateValues"]
        yield scope.malformed(metric or "quality", f"unknown object-level rule '{metric}'"
                                                   f"{did_you_mean(metric, known)}; known: {', '.join(known)}, "
                                                   "type sql")
    elif short == "row_count" and not _threshold(rule):
        yield scope.malformed(metric, "metric 'rowCount' needs a mustBe* threshold")
    elif short == "row_count":
        window = volume.window_of(rule, label, where)
        if window is None:
            yield _threshold_rule(scope, rule, short, common, counts=False)
        else:
            yield from _window_rules(scope, _threshold(rule), window, common)
    else:
        yield _threshold_rule(scope, rule, short, common, params={"columns": listed or columns})


def _window_rules(scope: _Scope, threshold: Mapping[str, Any], window: float, common: dict[str, Any]
                  ) -> Iterator[Expectation | Unsupported]:
    """A ``rowCount`` per window: its upper bound on the open window, its lower bound on closed ones."""
    upper, lower, others = volume.bounds(threshold)
    for op in others:
        yield scope.malformed(volume.MAX, f"over a window, rowCount takes bounds (mustBeGreaterThan, "
                                            f"mustBeGreaterOrEqualTo, mustBeLessThan, mustBeLessOrEqualTo, "
                                            f"mustBeBetween), not '{op}'")
    what = common["description"] or f"rowCount per {window:g} s window"
    for rule, bound in ((volume.MAX, upper), (volume.MIN, lower)):
        if bound:
            yield scope.expectation(rule, params={"window": window}, threshold=bound,
                                    **{**common, "description": what})


def _label(contract: Any) -> str:
    return f"contract {contract.id}@{contract.version}"
