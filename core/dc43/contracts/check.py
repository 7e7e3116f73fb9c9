"""What ``dc43 validate`` finds in contract files, before any pipeline uses them.

:func:`check_file` loads a YAML or JSON contract as the helpers do and derives what they would
at the start of a write: each schema object's Spark schema (when pyspark is installed), its
rules, and the service levels dc43 watches.  What a pipeline would refuse is an error; what it
would only warn about (unknown keys, rules it cannot evaluate, a status pipelines refuse unless
allowed) is a warning.  Given a SparkSession, rule patterns are compiled and SQL rules analysed
by Spark too, on an empty batch of the object's columns, as a streaming write does at start.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from dc43.errors import Dc43Error

#: the file names a folder is searched for
SUFFIXES = (".yaml", ".yml", ".json")


@attrs.frozen
class ObjectCheck:
    """One schema object: its columns and the rules dc43 derives from it."""

    name: str
    columns: int
    rules: tuple[dict[str, Any], ...]

    @property
    def streams_only(self) -> int:
        return sum(rule["streams_only"] for rule in self.rules)


@attrs.frozen
class ContractCheck:
    """What :func:`check_file` found in one file."""

    source: str
    contract_id: str | None = None
    version: str | None = None
    status: str | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    objects: tuple[ObjectCheck, ...] = ()
    frequency_s: float | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["valid"] = self.valid
        return data


def contract_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files ``paths`` name, each folder searched (recursively) for YAML and JSON files."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                raise Dc43Error(f"no contract files (*.yaml, *.yml, *.json) in folder {path}")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise Dc43Error(f"no file or folder at {path}; give the path of a contract file or of a folder of them")
    return found


def check_file(path: str | os.PathLike[str], spark: Any = None) -> ContractCheck:
    """Load ``path`` as a contract and check what the helpers would derive from it (with
    ``spark``, its rule patterns and SQL rules too)."""
    from dc43.contracts.loading import load_contract

    source = os.fspath(path)
    try:
        contract = load_contract(source)
    except Dc43Error as exc:
        return ContractCheck(source=source, errors=(str(exc),))
    return check_contract(contract, source, spark)


def check_contract(contract: Any, source: str, spark: Any = None) -> ContractCheck:
    """What :func:`check_file` checks, on a contract already loaded (from a contract service)."""
    from dc43.contracts.keys import notes_of
    from dc43.contracts.loading import is_active
    from dc43.contracts.sla import frequency_s, latencies

    errors: list[str] = []
    warnings = list(notes_of(contract))
    if not is_active(contract):
        warnings.append(f"status is '{contract.status}': pipelines refuse it unless they pass allow_inactive")
    if not contract.schema_:
        errors.append("the contract has no schema; add a schema object with its properties")
    frequency, sla_errors = None, []
    try:
        latencies(contract)
        frequency = frequency_s(contract)
    except Dc43Error as exc:
        sla_errors.append(str(exc))  # said once, not again by every object's rules
    objects = tuple(_check_object(contract, obj, errors, warnings, spark, slas=not sla_errors)
                    for obj in contract.schema_ or [])
    errors += sla_errors
    return ContractCheck(source=source, contract_id=contract.id, version=contract.version, status=contract.status,
                         errors=tuple(dict.fromkeys(errors)),
                         warnings=tuple(warnings), objects=objects, frequency_s=frequency)


def in_store(check: ContractCheck, base: str | os.PathLike[str]) -> ContractCheck:
    """``check`` of a file under the contract store ``base``, with what the store makes of it: the
    store reads ``<id>/<version>.json`` and refuses a document whose id or version differ."""
    path = Path(check.source)
    parts = path.relative_to(base).parts
    if len(parts) != 2 or path.suffix != ".json":
        return attrs.evolve(check, warnings=(*check.warnings, f"the contract store at {base} does not read this "
                                             "file: it reads <id>/<version>.json"))
    stored = (parts[0], path.stem)
    if check.contract_id is None or (check.contract_id, check.version) == stored:
        return check
    return attrs.evolve(check, errors=(*check.errors, f"the store reads it as {stored[0]}@{stored[1]} but it holds "
                                       f"{check.contract_id}@{check.version}; move the document to match its id and "
                                       "version, or publish it again"))


def _check_object(contract: Any, obj: Any, errors: list[str], warnings: list[str], spark: Any, *,
                  slas: bool) -> ObjectCheck:
    """The object's rules; its Spark types' and rules' errors go to ``errors``."""
    from dc43.quality.plan import STREAM_RULES, plan_contract

    struct = None
    try:
        from dc43.spark.types import map_object
    except ImportError:
        if not any(w.startswith("Spark types not checked") for w in warnings):
            warnings.append("Spark types not checked: pyspark is not installed (pip install 'dc43[spark]')")
    else:
        mapped = map_object(contract, obj.name)
        struct = mapped.struct
        errors += mapped.errors
        warnings += mapped.notes
    rules: tuple[dict[str, Any], ...] = ()
    try:
        plan, unsupported = plan_contract(contract, obj.name, slas=slas)
    except Dc43Error as exc:
        errors.append(str(exc))
    else:
        warnings += [item.message for item in unsupported if not item.malformed]
        errors += [item.message for item in unsupported if item.malformed]
        others = _other_tables(contract, plan)
        errors += others.values()
        rules = tuple({"key": e.key, "rule": e.rule, "column": e.column, "severity": e.severity,
                       "description": e.description, "streams_only": e.rule in STREAM_RULES} for e in plan)
        if spark is not None and struct is not None:
            _compile(spark, contract, plan, struct, errors, skip=set(others))
    return ObjectCheck(name=obj.name or "", columns=len(obj.properties or []), rules=rules)


def _other_tables(contract: Any, plan: Any) -> dict[str, str]:
    """SQL rules reading a table that is not their batch (no pipeline can run them), by rule key."""
    from dc43.quality.sql_rules import other_tables

    found = {}
    for rule in plan:
        if rule.rule != "sql":
            continue
        names = list(rule.params.get("tables", ()))
        others = other_tables(rule.params["query"], names)
        if others:
            found[rule.key] = (f"contract {contract.id}@{contract.version}: field '{rule.key}': its query reads "
                               f"{', '.join(repr(t) for t in others)}, which is not the batch: a SQL rule runs on "
                               f"the batch being written; name it "
                               f"{' or '.join(repr(n) for n in names) or 'its schema object'} or ${{object}}")
    return found


def _compile(spark: Any, contract: Any, plan: Any, struct: Any, errors: list[str], *, skip: set[str]) -> None:
    """Spark's word on the object's rule patterns and SQL rules, as a write gets it at start: every
    problem, each once (not again for the rules in ``skip``)."""
    from dc43.spark.metrics import compile_plan
    from dc43.spark.steps import pattern_problems, sql_rule_problems

    compiled = compile_plan(plan)
    for problem in (*pattern_problems(spark, contract, compiled), *sql_rule_problems(spark, contract, compiled, struct)):
        if problem.field not in skip and str(problem) not in errors:
            errors.append(str(problem))
