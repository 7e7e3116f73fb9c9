"""How a SQL rule names the batch it runs on (pure text, no Spark).

A rule's query may name its batch ``${object}`` (or ``{object}``), or as the standard's examples
and other tools do, by its schema object's ``name`` or ``physicalName`` as a table, qualified
or not (``FROM orders``, ``FROM sales.tbl_orders o``, ``orders.amount``).  :func:`on_batch`
rewrites those names to the batch's view; :func:`other_tables` lists the tables a query reads
that are none of them, which a rule on one batch cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PLACEHOLDERS = ("${object}", "{object}")
_STRING = re.compile(r"('(?:[^']|'')*')")
_PART = r"(?:[A-Za-z_][\w$]*|`(?:[^`]|``)+`|\"(?:[^\"]|\"\")+\")"
_QUALIFIED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_SOURCE = re.compile(rf"(\b(?:from|join)\s+)({_QUALIFIED}|\()", re.IGNORECASE)


def _bare(name: str) -> str:
    """The last part of a (qualified, quoted) table name, unquoted and lower case."""
    last = re.findall(_PART, name)[-1]
    if last[0] in "`\"":
        last = last[1:-1].replace(last[0] * 2, last[0])
    return last.lower()


def _code_parts(query: str) -> list[tuple[bool, str]]:
    """``query`` split into (is code, text): string literals are not code."""
    return [(index % 2 == 0, part) for index, part in enumerate(_STRING.split(query))]


def other_tables(query: str, names: Sequence[str]) -> list[str]:
    """The tables ``query`` reads (after FROM or JOIN) that are neither a placeholder nor one of
    ``names`` (compared by their last part, case-insensitively)."""
    wanted = {name.lower() for name in names if name}
    found: list[str] = []
    for code, part in _code_parts(query):
        if not code:
            continue
        for match in _SOURCE.finditer(part.replace("${object}", "dc43_object").replace("{object}", "dc43_object")):
            table = match.group(2)
            if table != "(" and table != "dc43_object" and _bare(table) not in wanted and table not in found:
                found.append(table)
    return found


def on_batch(query: str, names: Sequence[str], view: str) -> str:
    """``query`` with its placeholders and the tables named ``names`` read from ``view``; a name
    used as a qualifier (``orders.amount``) is rewritten too."""
    for placeholder in PLACEHOLDERS:
        query = query.replace(placeholder, view)
    wanted = [name for name in names if name]
    if not wanted:
        return query
    alternatives = "|".join(re.escape(name) for name in sorted(wanted, key=len, reverse=True))
    named = rf"(?:{_PART}\s*\.\s*)*(?:{alternatives}|`(?:{alternatives})`|\"(?:{alternatives})\")"
    source = re.compile(rf"(\b(?:from|join)\s+){named}(?![\w$])", re.IGNORECASE)
    qualifier = re.compile(rf"(?<![\w$.`\"])(?:{alternatives}|`(?:{alternatives})`|\"(?:{alternatives})\")"
                           rf"(?=\s*\.\s*[A-Za-z_`\"])", re.IGNORECASE)
    rewritten = []
    for code, part in _code_parts(query):
        if code:
            part = qualifier.sub(view, source.sub(lambda m: m.group(1) + view, part))
        rewritten.append(part)
    return "".join(rewritten)
