"""Where dc43's services keep their state: arguments, then ``DC43_*``, then ``dc43.toml``.

The embedded default keeps contracts under ``./contracts`` and governance state
under ``./.dc43/`` of the working directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import attrs

from dc43.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - depends on the interpreter
    import tomli as tomllib

ENV_PREFIX = "DC43_"
CONFIG_FILE = "dc43.toml"


@attrs.frozen
class Settings:
    """Resolved configuration handed to the service hooks."""

    contracts_dir: Path = Path("contracts")
    state_dir: Path = Path(".dc43")
    governance_db: Path | None = None
    #: verdicts the governance database keeps per dataset, newest first (None: all)
    keep_verdicts: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def governance_path(self) -> Path:
        return self.governance_db or self.state_dir / "governance.db"

    @property
    def outbox_path(self) -> Path:
        """Where deliveries wait while a service is down (:mod:`dc43.delivery`)."""
        return self.state_dir / "outbox.db"

    def absolute(self) -> Settings:
        """These settings with every path absolute, for a process with another working directory."""
        return attrs.evolve(self, contracts_dir=self.contracts_dir.resolve(), state_dir=self.state_dir.resolve(),
                            governance_db=self.governance_db.resolve() if self.governance_db else None)

    @classmethod
    def load(cls, *, config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
        """Resolve settings: ``overrides`` > environment > ``dc43.toml`` > defaults."""
        path = Path(config_file) if config_file else Path(CONFIG_FILE)
        if config_file and not path.is_file():
            raise ConfigurationError(f"settings file '{path}' does not exist; check config_file=")
        values = _read_file(path) if path.is_file() else {}
        for field in (*PATHS, *COUNTS):
            env = os.environ.get(ENV_PREFIX + field.upper())
            if env:
                values[field] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in attrs.fields(cls)} - {"extra"}
        extra = {k: v for k, v in values.items() if k not in known}
        for key in set(PATHS) & set(values):
            if not isinstance(values[key], (str, os.PathLike)):
                raise ConfigurationError(f"setting '{key}' must be a path (a string), got {values[key]!r}; fix "
                                         f"[dc43] {key} in {path} or {ENV_PREFIX}{key.upper()}")
        kwargs: dict[str, Any] = {k: Path(v) for k, v in values.items() if k in PATHS}
        kwargs.update({k: _count(k, values[k], path) for k in COUNTS if k in values})
        return cls(**kwargs, extra=extra)


PATHS = ("contracts_dir", "state_dir", "governance_db")
COUNTS = ("keep_verdicts",)


def _count(key: str, value: Any, path: Path) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ConfigurationError(f"setting '{key}' must be a whole number of 1 or more, got {value!r}; fix "
                                 f"[dc43] {key} in {path} or {ENV_PREFIX}{key.upper()}")
    return number


def _read_file(path: Path) -> dict[str, Any]:
    """The ``[dc43]`` table of a TOML settings file."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"settings file '{path}' is not valid TOML: {exc}; fix it or remove it") from None
    table = document.get("dc43", {})
    if not isinstance(table, dict):
        raise ConfigurationError(f"settings file '{path}': 'dc43' must be a table ([dc43]), got {table!r}")
    return dict(table)
