"""Semantic versions, selectors and selection."""

from __future__ import annotations

import pytest
from dc43.contracts import Version, parse_selector, parse_version, select_version
from dc43.errors import ContractNotFoundError, VersionSelectorError

AVAILABLE = ["0.0.3", "0.2.0", "0.2.5", "0.3.0", "1.0.0", "1.2.0", "1.2.7", "1.3.0", "2.0.0-rc.1", "2.0.0", "2.1.0-beta"]
NO_MATCH = None

# (available, selector, include_prerelease, expected version or NO_MATCH)
SELECTION_TABLE = [
    (AVAILABLE, None, False, "2.0.0"),
    (AVAILABLE, "", False, "2.0.0"),
    (AVAILABLE, "latest", False, "2.0.0"),
    (AVAILABLE, " LATEST ", False, "2.0.0"),
    (AVAILABLE, "latest", True, "2.1.0-beta"),
    (["1.0.0-alpha", "1.0.0-beta"], "latest", False, "1.0.0-beta"),
    (AVAILABLE, "1.2.0", False, "1.2.0"),
    (AVAILABLE, "1.2", False, "1.2.0"),
    (AVAILABLE, "==1.2.7", False, "1.2.7"),
    (AVAILABLE, "== 1.2.7", False, "1.2.7"),
    (AVAILABLE, "1.2.1", False, NO_MATCH),
    (AVAILABLE, "2.0.0-rc.1", False, "2.0.0-rc.1"),
    (AVAILABLE, "==2.1.0-beta", False, "2.1.0-beta"),
    (AVAILABLE, ">=1.0.0", False, "2.0.0"),
    (AVAILABLE, ">=1.0.0", True, "2.1.0-beta"),
    (AVAILABLE, ">1.2.7", False, "2.0.0"),
    (AVAILABLE, "<2.0.0", False, "1.3.0"),
    (AVAILABLE, "<2.0.0", True, "2.0.0-rc.1"),
    (AVAILABLE, "<=1.2.7", False, "1.2.7"),
    (AVAILABLE, ">=1.0,<2.0", False, "1.3.0"),
    (AVAILABLE, ">=1.0, <1.3", False, "1.2.7"),
    (AVAILABLE, ">=3.0", False, NO_MATCH),
    (AVAILABLE, "^1.2.0", False, "1.3.0"),
    (AVAILABLE, "^1", False, "1.3.0"),
    (AVAILABLE, "^2.0.0", False, "2.0.0"),
    (AVAILABLE, "^2.0.0", True, "2.1.0-beta"),
    (AVAILABLE, "^2.0.0-rc.1", False, "2.1.0-beta"),
    (AVAILABLE, "^0.2.1", False, "0.2.5"),
    (AVAILABLE, "^0.0.3", False, "0.0.3"),
    (["0.0.3", "0.0.4"], "^0.0.3", False, "0.0.3"),
    (["1.9.0", "2.0.0-rc.1"], "^1.0.0", True, "1.9.0"),
    (AVAILABLE, "~1.2.0", False, "1.2.7"),
    (AVAILABLE, "~1.2.3", False, "1.2.7"),
    (AVAILABLE, "~1.4", False, NO_MATCH),
    (["2.0.0-rc.1", "2.0.0-rc.2"], ">=1.0.0", False, NO_MATCH),
    (["2.0.0-rc.1", "2.0.0-rc.2"], ">=2.0.0-rc.1", False, "2.0.0-rc.2"),
    (["1.0.0", "not-a-version", "1.1.0"], ">=1.0", False, "1.1.0"),
    (["1.0.0", "not-a-version"], "latest", False, "1.0.0"),
    (["1.0.0", "2024-01"], "2024-01", False, "2024-01"),
    (["1.0.0", "2024-01"], "==2024-01", False, "2024-01"),
]


@pytest.mark.parametrize(("available", "selector", "include_prerelease", "expected"), SELECTION_TABLE)
def test_selection_table(available, selector, include_prerelease, expected):
    if expected is NO_MATCH:
        with pytest.raises(ContractNotFoundError, match="available: "):
            select_version(available, selector, include_prerelease=include_prerelease)
    else:
        assert select_version(available, selector, include_prerelease=include_prerelease) == expected


@pytest.mark.parametrize(
    "selector",
    [">=", "1.2.3.4", "01.2.3", "=1.2.3", ">=1.0,", "~>1.0", "1.0 2.0", "x.y.z", "^", ">=1.0;<2.0", "1.0.0-", "v1.0.0"],
)
def test_invalid_selectors_quote_text_and_list_accepted_forms(selector):
    with pytest.raises(VersionSelectorError) as info:
        parse_selector(selector)
    assert f"'{selector}'" in str(info.value)
    assert ">=1.2.3" in str(info.value) and "^1.2.3" in str(info.value)


def test_non_string_selector_is_rejected():
    with pytest.raises(VersionSelectorError, match="not a string"):
        parse_selector(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3", Version(1, 2, 3)),
        ("1.2", Version(1, 2, 0)),
        ("1", Version(1, 0, 0)),
        ("1.2.3-rc.1", Version(1, 2, 3, ("rc", 1))),
        ("1.2.3+build.5", Version(1, 2, 3, (), "build.5")),
        (" 1.2.3-0.alpha+sha ", Version(1, 2, 3, (0, "alpha"), "sha")),
    ],
)
def test_parse_version(text, expected):
    parsed = parse_version(text)
    assert parsed == expected
    assert (parsed.prerelease, parsed.build) == (expected.prerelease, expected.build)


@pytest.mark.parametrize("text", ["", "1.2.3.4", "01.0.0", "1.0.0-01", "a.b.c", "1.0.0+"])
def test_parse_version_rejects_invalid(text):
    with pytest.raises(VersionSelectorError, match="not a semantic version"):
        parse_version(text)


def test_semver_precedence():
    # Order from the SemVer 2.0 specification, section 11.
    ordered = [
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0",
    ]
    versions = [parse_version(v) for v in ordered]
    assert sorted(reversed(versions)) == versions
    assert all(a < b for a, b in zip(versions, versions[1:]))


def test_build_metadata_is_ignored_in_ordering_and_hashing():
    assert parse_version("1.0.0+a") == parse_version("1.0.0+b")
    assert len({parse_version("1.0.0+a"), parse_version("1.0.0")}) == 1
    assert str(parse_version("1.0.0-rc.1+a")) == "1.0.0-rc.1+a"


def test_no_match_hints_at_include_prerelease():
    with pytest.raises(ContractNotFoundError, match="include_prerelease=True") as info:
        select_version(["1.0.0", "2.0.0-rc.1"], ">=1.5", contract_id="demo.x")
    assert "contract 'demo.x'" in str(info.value)


def test_no_versions_at_all():
    with pytest.raises(ContractNotFoundError, match="No versions"):
        select_version([], "latest")
