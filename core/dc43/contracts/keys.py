"""Keys of a contract document the ODCS model does not know.

The ODCS models drop unknown keys below the top level without a word, so a typo weakens
the contract silently: ``requried: true`` checks nothing, ``mustBeGreatherThan: 0`` leaves
the rule without an operator.  :func:`unknown_keys` finds them in the parsed document;
the loader refuses misspelled rule operators and keeps the other findings as notes on the
contract (:func:`notes_of`), which the helpers report as warnings.  So does a ``dc43.*`` custom
property dc43 does not read where it stands (:func:`unknown_dc43_properties`): a misspelled
``dc43.keyHorizn`` would leave the key history unbounded without a word.
"""

from __future__ import annotations

import collections
import difflib
import threading
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import pydantic
from open_data_contract_standard.model import DataQuality, OpenDataContractStandard

from dc43.errors import did_you_mean

OPERATORS = tuple(name for name in DataQuality.model_fields if name.startswith("must"))
_KEPT = 1024
#: the ``dc43.*`` custom properties dc43 reads, by where they stand in the contract
DC43_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "schema object": ("dc43.keyHorizon", "dc43.keyEventTime", "dc43.volumeChangeFactor", "dc43.volumeHistory",
                      "dc43.allowExtraColumns"),
    "quality rule": ("dc43.window",),
    "SLA property": ("dc43.severity",),
    "property": (),
    "contract": ("dc43.ignoredKeys",),
}
#: the contract-level custom property a store keeps the ignored keys' notes in (the keys themselves
#: are gone once the model is written back)
IGNORED_KEYS = "dc43.ignoredKeys"
#: the key holding a list of items -> what each item is
_PLACES = {"schema": "schema object", "quality": "quality rule", "slaProperties": "SLA property",
           "properties": "property", "items": "property"}


@attrs.frozen
class UnknownKey:
    """A key the model has no field for, where it was, and the field it most resembles."""

    path: str
    key: str
    known: tuple[str, ...]
    model: type

    @property
    def is_operator(self) -> bool:
        """A rule operator misspelled (``mustBeGreatherThan``): the rule would check nothing."""
        return self.model is DataQuality and (self.key.lower().startswith("must")
                                              or bool(did_you_mean(self.key, OPERATORS)))

    def describe(self) -> str:
        return f"{self.path}: unknown key '{self.key}'{did_you_mean(self.key, self.known)} was ignored"


def _models_in(annotation: Any) -> Iterator[type]:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _model_for(annotation: Any, value: Any) -> type | None:
    """The model a field's ``value`` is read as: a list as the model its annotation lists, a mapping
    as the bare one (``team`` is a Team, or a list of TeamMember as ODCS 3.0 writes it)."""
    for argument in typing.get_args(annotation) or (annotation,):
        listed = typing.get_origin(argument) is list
        if listed == isinstance(value, list):
            found = next(_models_in(argument), None)
            if found is not None:
                return found
    return next(_models_in(annotation), None)


def unknown_keys(data: Any, model: type = OpenDataContractStandard, path: str = "") -> list[UnknownKey]:
    """Every key of ``data`` (nested) that ``model``'s fields do not know, top level excepted
    (the top-level model refuses unknown keys itself)."""
    if not isinstance(data, Mapping):
        return []
    fields = model.model_fields
    known = {name: name for name in fields} | {f.alias: name for name, f in fields.items() if f.alias}
    found = [] if not path else [UnknownKey(path, str(key), tuple(known), model)
                                 for key in data if key not in known]
    for key, value in data.items():
        if key not in known:
            continue
        nested = _model_for(fields[known[key]].annotation, value)
        if nested is None:
            continue
        where = f"{path}.{key}" if path else str(key)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            found += unknown_keys(item, nested, f"{where}[{index}]" if isinstance(value, list) else where)
    return found


def unknown_dc43_properties(data: Any, place: str = "contract", path: str = "") -> list[str]:
    """A note for each ``dc43.*`` custom property in ``data`` (nested) that dc43 does not read
    where it stands, naming the one it most resembles."""
    if not isinstance(data, Mapping):
        return []
    notes = []
    known = DC43_PROPERTIES[place]
    for index, custom in enumerate(data.get("customProperties") or []):
        name = custom.get("property") if isinstance(custom, Mapping) else None
        if isinstance(name, str) and name.startswith("dc43.") and name not in known:
            elsewhere = [where for where, names in DC43_PROPERTIES.items() if name in names]
            hint = f"; dc43 reads it on {_a(elsewhere[0])}" if elsewhere else _closest(name)
            where = f"{path}.customProperties[{index}]" if path else f"customProperties[{index}]"
            notes.append(f"{where}: dc43 does not read '{name}' on {_a(place)}{hint}; it was ignored")
    for key, inner in _PLACES.items():
        value = data.get(key)
        items = value if isinstance(value, list) else [value] if isinstance(value, Mapping) else []
        for index, item in enumerate(items):
            where = f"{path}.{key}" if path else key
            notes += unknown_dc43_properties(item, inner, f"{where}[{index}]" if isinstance(value, list) else where)
    return notes


def _a(place: str) -> str:
    return f"{'an' if place.startswith(('SLA', 'a', 'e', 'i', 'o', 'u')) else 'a'} {place}"


def _closest(name: str) -> str:
    """`` (did you mean 'dc43.x'?)``, comparing the names after the ``dc43.`` they all share."""
    names = {known.removeprefix("dc43."): known for names in DC43_PROPERTIES.values() for known in names}
    close = difflib.get_close_matches(name.removeprefix("dc43."), list(names), n=1, cutoff=0.6)
    return f" (did you mean '{names[close[0]]}'?)" if close else ""


_notes: collections.OrderedDict[int, tuple[Any, tuple[str, ...]]] = collections.OrderedDict()
_lock = threading.Lock()


def remember_notes(contract: Any, notes: tuple[str, ...], *, dropped: tuple[str, ...] = ()) -> None:
    """Keep ``notes`` for ``contract`` (the newest contracts loaded; the object itself is kept);
    ``dropped``: those about keys the model dropped, which a store carries (:func:`with_ignored_keys`)."""
    if not notes:
        return
    with _lock:
        _notes[id(contract)] = (contract, notes, dropped)
        while len(_notes) > _KEPT:
            _notes.popitem(last=False)


def notes_of(contract: Any) -> tuple[str, ...]:
    """What loading ``contract`` found wrong but did not refuse (unknown keys), if it was loaded here."""
    with _lock:
        kept = _notes.get(id(contract))
    return kept[1] if kept is not None and kept[0] is contract else ()


def with_ignored_keys(contract: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (``contract`` written out) with the notes on the keys loading it dropped, as the
    custom property :data:`IGNORED_KEYS`: whoever loads it from a store is warned as its author was."""
    with _lock:
        kept = _notes.get(id(contract))
    dropped = kept[2] if kept is not None and kept[0] is contract else ()
    if not dropped:
        return data
    custom = [c for c in data.get("customProperties") or [] if c.get("property") != IGNORED_KEYS]
    return {**data, "customProperties": [*custom, {"property": IGNORED_KEYS, "value": list(dropped)}]}


def carried_notes(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The notes a store carried in :data:`IGNORED_KEYS`."""
    for custom in data.get("customProperties") or []:
        if isinstance(custom, Mapping) and custom.get("property") == IGNORED_KEYS:
            value = custom.get("value")
            return tuple(str(note) for note in value) if isinstance(value, list) else ()
    return ()
