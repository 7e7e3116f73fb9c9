"""Keys of a contract document the ODCS model does not know.

The ODCS models drop unknown keys below the top level without a word, so a typo weakens
the contract silently: ``requried: true`` checks nothing, ``mustBeGreatherThan: 0`` leaves
the rule without an operator.  :func:`unknown_keys` finds them in the parsed document;
the loader refuses misspelled rule operators and keeps the other findings as notes on the
contract (:func:`notes_of`), which the helpers report as warnings.
"""

from __future__ import annotations

import collections
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
        nested = next(_models_in(fields[known[key]].annotation), None)
        if nested is None:
            continue
        where = f"{path}.{key}" if path else str(key)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            found += unknown_keys(item, nested, f"{where}[{index}]" if isinstance(value, list) else where)
    return found


_notes: collections.OrderedDict[int, tuple[Any, tuple[str, ...]]] = collections.OrderedDict()
_lock = threading.Lock()


def remember_notes(contract: Any, notes: tuple[str, ...]) -> None:
    """Keep ``notes`` for ``contract`` (the newest contracts loaded; the object itself is kept)."""
    if not notes:
        return
    with _lock:
        _notes[id(contract)] = (contract, notes)
        while len(_notes) > _KEPT:
            _notes.popitem(last=False)


def notes_of(contract: Any) -> tuple[str, ...]:
    """What loading ``contract`` found wrong but did not refuse (unknown keys), if it was loaded here."""
    with _lock:
        kept = _notes.get(id(contract))
    return kept[1] if kept is not None and kept[0] is contract else ()
