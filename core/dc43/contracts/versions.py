"""Semantic versions (SemVer 2.0) and the selectors contracts are resolved with.

Selector forms: ``latest`` (or empty/None), ``x`` and ``==x`` (exact), ``>=x``,
``>x``, ``<=x``, ``<x``, ``^x`` (same major; same minor for ``0.y``; exact for
``0.0.z``), ``~x`` (same major.minor) and comma-separated combinations such as
``>=1.0,<2.0``. Partial versions are padded with zeros: ``1.2`` is ``1.2.0``.

Pre-releases satisfy a range only when the selector itself names a pre-release
or the caller passes ``include_prerelease=True``; exact selectors match them
directly. ``latest`` is the highest release, or the highest pre-release when
no release exists at all.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from dc43.errors import ContractNotFoundError, VersionSelectorError

_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_VERSION_RE = re.compile(
    r"(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?)?"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_PART_RE = re.compile(r"(==|>=|<=|>|<|\^|~)?\s*(\S+)")
_ACCEPTED = (
    "latest, 1.2.3, ==1.2.3, >=1.2.3, >1.2.3, <=1.2.3, <1.2.3, ^1.2.3, ~1.2.3, "
    "or a comma-separated combination such as '>=1.0,<2.0'"
)


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A semantic version; ordering and equality ignore build metadata."""

    major: int
    minor: int = 0
    patch: int = 0
    prerelease: tuple[int | str, ...] = ()
    build: str = ""

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def _key(self) -> tuple:
        identifiers = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease)
        # A release (no pre-release) ranks above all of its pre-releases.
        return (self.major, self.minor, self.patch, not self.prerelease, identifiers)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Version) else NotImplemented

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key() if isinstance(other, Version) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(p) for p in self.prerelease)
        return text + (f"+{self.build}" if self.build else "")


def parse_version(text: str) -> Version:
    """Parse ``1.2.3``, ``1.2.3-rc.1``, ``1.2.3+build``; ``1.2`` and ``1`` are padded."""
    if not isinstance(text, str):
        raise VersionSelectorError(
            f"Version {text!r} is a {type(text).__name__}, not a string; "
            "write it as a quoted string such as '1.2.3'."
        )
    match = _VERSION_RE.fullmatch(text.strip())
    if match is None:
        raise VersionSelectorError(
            f"'{text}' is not a semantic version; use MAJOR.MINOR.PATCH with an optional "
            "-prerelease and +build suffix, e.g. '1.2.3' or '1.2.3-rc.1'."
        )
    major, minor, patch, pre, build = match.groups()
    return Version(
        int(major),
        int(minor or 0),
        int(patch or 0),
        tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else (),
        build or "",
    )


def _try_parse(text: str) -> Version | None:
    try:
        return parse_version(text)
    except VersionSelectorError:
        return None


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Sort version strings by SemVer precedence; unparsable strings go last, sorted by text."""
    parsed, unparsed = [], []
    for text in versions:
        version = _try_parse(text)
        if version is None:
            unparsed.append(text)
        else:
            parsed.append((version, text))
    return [text for _, text in sorted(parsed)] + sorted(unparsed)


@dataclass(frozen=True)
class _Bound:
    op: str
    version: Version

    def admits(self, version: Version) -> bool:
        if self.op == "==":
            return version == self.version
        if self.op == ">=":
            return version >= self.version
        if self.op == ">":
            return version > self.version
        if self.op == "<=":
            return version <= self.version
        return version < self.version


@dataclass(frozen=True)
class VersionSelector:
    """A parsed selector; no bounds means ``latest``."""

    text: str
    bounds: tuple[_Bound, ...] = ()
    names_prerelease: bool = False

    @property
    def is_latest(self) -> bool:
        return not self.bounds

    @property
    def is_exact(self) -> bool:
        return bool(self.bounds) and all(b.op == "==" for b in self.bounds)

    def matches(self, version: Version, *, include_prerelease: bool = False) -> bool:
        """Whether ``version`` satisfies every bound and the pre-release rule."""
        if not all(bound.admits(version) for bound in self.bounds):
            return False
        if version.is_prerelease and not self.is_exact:
            return include_prerelease or self.names_prerelease
        return True

    def __str__(self) -> str:
        return self.text


def _upper(major: int, minor: int = 0) -> Version:
    # ``-0`` is the lowest pre-release, so the bound excludes the next line's pre-releases too.
    return Version(major, minor, 0, (0,))


def _expand(op: str | None, version: Version) -> list[_Bound]:
    if op in (None, "=="):
        return [_Bound("==", version)]
    if op == "^":
        if version.major:
            return [_Bound(">=", version), _Bound("<", _upper(version.major + 1))]
        if version.minor:
            return [_Bound(">=", version), _Bound("<", _upper(0, version.minor + 1))]
        return [_Bound("==", version)]
    if op == "~":
        return [_Bound(">=", version), _Bound("<", _upper(version.major, version.minor + 1))]
    return [_Bound(op, version)]


def _invalid(text: object, detail: str) -> VersionSelectorError:
    return VersionSelectorError(f"Version selector '{text}' is invalid ({detail}); use one of: {_ACCEPTED}.")


def parse_selector(text: str | None) -> VersionSelector:
    """Parse a selector string; ``None``, ``""`` and ``"latest"`` select the latest version."""
    if text is None:
        return VersionSelector("latest")
    if not isinstance(text, str):
        raise _invalid(text, f"a {type(text).__name__}, not a string")
    stripped = text.strip()
    if stripped.lower() in ("", "latest"):
        return VersionSelector("latest")
    bounds: list[_Bound] = []
    names_prerelease = False
    for part in stripped.split(","):
        match = _PART_RE.fullmatch(part.strip())
        if match is None:
            raise _invalid(text, f"cannot read the part '{part.strip()}'")
        op, version_text = match.groups()
        version = _try_parse(version_text)
        if version is None:
            raise _invalid(text, f"'{version_text}' is not a semantic version")
        names_prerelease = names_prerelease or version.is_prerelease
        bounds.extend(_expand(op, version))
    return VersionSelector(stripped, tuple(bounds), names_prerelease)


def _exact_literal(selector: str | VersionSelector | None) -> str | None:
    """The literal version an exact selector names, so unparsable stored versions stay reachable."""
    text = selector.text if isinstance(selector, VersionSelector) else selector
    if not isinstance(text, str):
        return None
    text = text.strip()
    if text.startswith("=="):
        return text[2:].strip()
    if not text or text.lower() == "latest" or "," in text or text[0] in "<>^~":
        return None
    return text


def select_version(
    available: Iterable[str],
    selector: str | VersionSelector | None = None,
    *,
    include_prerelease: bool = False,
    contract_id: str | None = None,
) -> str:
    """Return the highest version string in ``available`` matching ``selector``.

    Unparsable versions are skipped for ranges but still match an exact selector
    by string. ``contract_id`` only improves error messages.
    """
    versions = list(available)
    literal = _exact_literal(selector)
    if literal is not None and literal in versions:
        return literal
    parsed_selector = selector if isinstance(selector, VersionSelector) else parse_selector(selector)
    parsed = [(v, text) for text in versions if (v := _try_parse(text)) is not None]
    candidates = [p for p in parsed if parsed_selector.matches(p[0], include_prerelease=include_prerelease)]
    if parsed_selector.is_latest and not candidates:
        candidates = parsed  # only pre-releases exist
    if candidates:
        return max(candidates)[1]
    raise _no_match(versions, parsed, parsed_selector, contract_id)


def _no_match(
    versions: list[str],
    parsed: list[tuple[Version, str]],
    selector: VersionSelector,
    contract_id: str | None,
) -> ContractNotFoundError:
    subject = f"contract '{contract_id}'" if contract_id else "the contract"
    if not versions:
        return ContractNotFoundError(f"No versions of {subject} exist; publish a version before resolving it.")
    hint = ""
    prereleases = [text for v, text in parsed if selector.matches(v, include_prerelease=True)]
    if prereleases:
        hint = f" Pre-releases {', '.join(sort_versions(prereleases))} match only with include_prerelease=True."
    return ContractNotFoundError(
        f"No version of {subject} matches selector '{selector}' "
        f"(available: {', '.join(sort_versions(versions))}); "
        f"change the selector or publish a matching version.{hint}"
    )
