"""Where dc43's services keep their state: arguments, then ``DC43_*``, then ``dc43.toml``.

The embedded default keeps contracts under ``./contracts`` and governance state
under ``./.dc43/`` of the working directory; ``service_url`` (``DC43_SERVICE_URL``) points
every service at a shared ``dc43 serve`` instead, with ``service_token`` (``DC43_SERVICE_TOKEN``).
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


class Secret:
    """A value never shown: its repr and str are masked; :meth:`reveal` gives it to the one call that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __getstate__(self) -> str:
        return self._value

    def __setstate__(self, state: str) -> None:
        self._value = state


@attrs.frozen
class Settings:
    """Resolved configuration handed to the service hooks."""

    contracts_dir: Path = Path("contracts")
    state_dir: Path = Path(".dc43")
    governance_db: Path | None = None
    #: verdicts the governance database keeps per dataset, newest first (None: all)
    keep_verdicts: int | None = None
    #: a shared dc43 service (``http://host:8143``): every service goes there (the ``http`` plugin)
    service_url: str | None = None
    service_token: Secret | None = None
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
        for field in (*PATHS, *COUNTS, *TEXTS):
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
        for key in set(TEXTS) & set(values):
            if not isinstance(values[key], (str, Secret)) or not str(values[key]).strip():
                raise ConfigurationError(f"setting '{key}' must be a non-empty string; fix [dc43] {key} in {path} or "
                                         f"{ENV_PREFIX}{key.upper()}")
        if "service_url" in values:
            kwargs["service_url"] = _service_url(values["service_url"], path)
        if "service_token" in values:
            token = values["service_token"]
            kwargs["service_token"] = token if isinstance(token, Secret) else Secret(token.strip())
        return cls(**kwargs, extra=extra)


PATHS = ("contracts_dir", "state_dir", "governance_db")
COUNTS = ("keep_verdicts",)
TEXTS = ("service_url", "service_token")


def _service_url(value: str, path: Path) -> str:
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or "@" in url.split("/")[2]:
        raise ConfigurationError(f"setting 'service_url' must be an http(s) URL such as http://dc43.internal:8143, "
                                 f"without credentials (the token goes in service_token), got {url.split('@')[-1]!r}; "
                                 f"fix [dc43] service_url in {path} or {ENV_PREFIX}SERVICE_URL")
    return url


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
