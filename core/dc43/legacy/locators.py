"""The original API's dataset locators (``for_read``/``for_write`` returning a resolution).

:class:`ContractFirstDatasetLocator` takes the contract server's path or table over
the helper's hint; :class:`ContractVersionLocator` adds a version folder, Delta time
travel or a versioned file layout (``dc43.core.versioning`` on the server);
:class:`StaticDatasetLocator` overrides fields of a base.  :func:`as_locator` turns
any of them, or a pipeline's own, into a dc43 locator (``locate(request)``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

import attrs

from dc43 import locators
from dc43.contracts.versions import parse_version
from dc43.errors import InvalidArgumentError, VersionSelectorError
from dc43.formats import DatasetTarget

VERSIONING_PROPERTY = "dc43.core.versioning"


@dataclass
class DatasetResolution:
    """Where a dataset lives and the identifiers governance gets for it."""

    path: Optional[str]
    table: Optional[str]
    format: Optional[str]
    dataset_id: Optional[str]
    dataset_version: Optional[str]
    read_options: Optional[dict[str, str]] = None
    write_options: Optional[dict[str, str]] = None
    custom_properties: Optional[dict[str, Any]] = None
    load_paths: Optional[list[str]] = None


class DatasetLocatorStrategy(Protocol):
    def for_read(self, *, contract: Any, spark: Any, format: Optional[str], path: Optional[str],
                 table: Optional[str]) -> DatasetResolution: ...

    def for_write(self, *, contract: Any, df: Any, format: Optional[str], path: Optional[str],
                  table: Optional[str]) -> DatasetResolution: ...


def dataset_id_from_ref(*, table: Optional[str] = None, path: Optional[str | Iterable[str]] = None) -> str:
    """``table:<name>``, ``path:<path>`` (the first of several) or ``unknown``."""
    if table:
        return f"table:{table}"
    if isinstance(path, (list, tuple, set)):
        path = next((str(p) for p in path), None)
    return f"path:{path}" if path else "unknown"


def safe_fs_name(value: str) -> str:
    """``value`` with every character but letters, digits, ``_``, ``-`` and ``.`` made ``_``."""
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in value)


def contract_ref(contract: Any) -> tuple[Optional[str], Optional[str]]:
    """``(path, table)`` of the contract's first server; the table joins catalog, schema and dataset."""
    if not getattr(contract, "servers", None):
        return None, None
    server = contract.servers[0]
    if server.path:
        return server.path, None
    parts = [server.catalog, server.schema_, server.dataset or server.database]
    return None, (".".join(p for p in parts if p) or None)


def server_properties(server: Any) -> dict[str, Any]:
    """The server's ``customProperties`` as a mapping (a list of property/value pairs in ODCS)."""
    raw = getattr(server, "customProperties", None) or []
    if isinstance(raw, Mapping):
        return dict(raw)
    return {getattr(item, "property", None): getattr(item, "value", None) for item in raw
            if getattr(item, "property", None)}


def _looks_like_table(value: str) -> bool:
    return "://" not in value and "/" not in value and "\\" not in value and "." in value


def _promote_table(path: Optional[str], table: Optional[str], fmt: Optional[str], spark: Any) -> tuple[Any, Any]:
    """A Delta "path" such as ``sales.orders`` names a table; so does one the catalog knows."""
    if table is not None or not isinstance(path, str) or not _looks_like_table(path):
        return path, table
    if (fmt or "").lower() == "delta":
        return None, path
    if spark is not None:
        try:
            if spark.catalog.tableExists(path):
                return None, path
        except Exception:  # a catalog that cannot tell: keep the path
            pass
    return path, table


def _string_options(raw: Any) -> Optional[dict[str, str]]:
    if not isinstance(raw, Mapping):
        return None
    return {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in raw.items() if v is not None}


def utc_clock() -> str:
    """The original's write version: an ISO timestamp in UTC ending with ``Z``."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class ContractFirstDatasetLocator:
    """The contract server's path or table win over the helper's; its format fills a missing one."""

    clock: Callable[[], str] = utc_clock

    def _resolve(self, contract: Any, *, path: Any, table: Any, format: Any, spark: Any,
                 write: bool) -> DatasetResolution:
        props: dict[str, Any] | None = None
        read_options = write_options = None
        if contract is not None and getattr(contract, "servers", None):
            c_path, c_table = contract_ref(contract)
            path = c_path if c_path is not None else path
            table = c_table if c_table is not None else table
            format = format if format is not None else contract.servers[0].format
            props = server_properties(contract.servers[0]) or None
            versioning = (props or {}).get(VERSIONING_PROPERTY)
            if isinstance(versioning, Mapping):
                read_options = _string_options(versioning.get("readOptions"))
                write_options = _string_options(versioning.get("writeOptions"))
        path, table = _promote_table(path, table, format, spark)
        return DatasetResolution(
            path=path, table=table, format=format,
            dataset_id=contract.id if contract is not None else dataset_id_from_ref(table=table, path=path),
            dataset_version=self.clock() if write else None, read_options=read_options,
            write_options=write_options, custom_properties=props)

    def for_read(self, *, contract: Any, spark: Any, format: Optional[str], path: Optional[str],
                 table: Optional[str]) -> DatasetResolution:
        return self._resolve(contract, path=path, table=table, format=format, spark=spark, write=False)

    def for_write(self, *, contract: Any, df: Any, format: Optional[str], path: Optional[str],
                  table: Optional[str]) -> DatasetResolution:
        return self._resolve(contract, path=path, table=table, format=format, spark=None, write=True)


def _version_key(value: str) -> tuple[int, Any, str]:
    """Timestamps first (by time), then semantic versions, then any other text."""
    try:
        return 0, _dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value).timestamp(), value
    except ValueError:
        pass
    try:
        parsed = parse_version(value)
        return 1, (parsed.major, parsed.minor, parsed.patch), value
    except VersionSelectorError:
        return 2, value, value


def _folder_version(folder: Path) -> str:
    """A version folder's version: its ``.dc43_version`` marker, else its name."""
    marker = folder / ".dc43_version"
    try:
        text = marker.read_text().strip() if marker.exists() else ""
    except OSError:
        text = ""
    return text or folder.name


@dataclass
class ContractVersionLocator:
    """Reads or writes one version: a version folder, Delta time travel, or versioned files."""

    dataset_version: str
    dataset_id: Optional[str] = None
    subpath: Optional[str] = None
    base: Any = field(default_factory=ContractFirstDatasetLocator)

    VERSIONING_PROPERTY = VERSIONING_PROPERTY

    def _versioned_path(self, path: Optional[str], fmt: Optional[str]) -> Optional[str]:
        if not path or (fmt or "").lower() == "delta":
            return path
        base = Path(path)
        version = self.dataset_version
        safe = safe_fs_name(version) if version else None
        root = base.parent / base.stem if base.suffix else base
        if version and safe != version and not (root / version).exists():
            version = safe
        folder = root / version if version else root
        if self.subpath:
            folder = folder / self.subpath
        return str(folder / base.name) if base.suffix else str(folder)

    def _layout(self, resolution: DatasetResolution) -> tuple[Optional[list[str]], dict[str, str]]:
        """The files of a ``dc43.core.versioning`` layout this version reads, and its read options."""
        config = (resolution.custom_properties or {}).get(VERSIONING_PROPERTY)
        if not isinstance(config, Mapping) or not resolution.path or not self.dataset_version:
            return None, {}
        base = Path(resolution.path)
        root = base.parent if base.suffix else base
        if not root.is_dir():
            return None, {}
        entries = sorted(((_folder_version(e), e.name) for e in root.iterdir() if e.is_dir()),
                         key=lambda entry: _version_key(entry[0]))
        if not entries:
            return None, {}
        selected = self._select(entries, root, bool(config.get("includePriorVersions")))
        folder_template = str(config.get("subfolder", "{version}"))
        pattern = config.get("filePattern")
        pattern = str(pattern) if pattern is not None else (base.name if base.suffix else None)
        found: list[str] = []
        for shown, name in selected:
            def render(template: str, shown: str = shown, name: str = name) -> str:
                return template.replace("{version}", shown).replace("{safeVersion}", name)

            folder = root / render(folder_template) if folder_template else root
            if not folder.exists() and (root / name).exists():
                folder = root / name
            if pattern:
                found.extend(str(p) for p in folder.glob(render(pattern)))
            elif folder.exists():
                found.append(str(folder))
        return list(dict.fromkeys(found)) or None, _string_options(config.get("readOptions")) or {}

    def _select(self, entries: list[tuple[str, str]], root: Path, include_prior: bool) -> list[tuple[str, str]]:
        version = self.dataset_version
        if version.lower() == "latest":
            alias = root / version
            pinned = _version_key(_folder_version(alias.resolve())) if alias.is_dir() else None
            if pinned is None:
                return entries if include_prior else entries[-1:]
            if include_prior:
                return [e for e in entries if _version_key(e[0]) <= pinned]
            return [e for e in entries if _version_key(e[0]) == pinned] or entries[-1:]
        wanted = _version_key(version)
        eligible = [e for e in entries if _version_key(e[0]) <= wanted]
        if include_prior and "__" not in version:
            return eligible
        exact = [e for e in entries if e[0] == version] or [e for e in entries if e[1] == safe_fs_name(version)]
        if exact:
            return exact[:1]
        if eligible:
            return eligible[-1:]
        return [(version, version)] if (root / version).exists() else []

    def _time_travel(self, fmt: Optional[str]) -> Optional[tuple[str, str]]:
        version = (self.dataset_version or "").strip()
        if (fmt or "").lower() != "delta" or not version or version.lower() == "latest":
            return None
        if version.isdigit():
            return "versionAsOf", version
        try:
            _dt.datetime.fromisoformat(version[:-1] + "+00:00" if version.endswith("Z") else version)
        except ValueError:
            return None
        return "timestampAsOf", version

    def _merge(self, contract: Any, resolution: DatasetResolution) -> DatasetResolution:
        read_options = dict(resolution.read_options or {})
        load_paths, layout_options = self._layout(resolution)
        read_options.update(layout_options)
        travel = self._time_travel(resolution.format)
        if travel:
            read_options.setdefault(*travel)
        dataset_id = self.dataset_id or resolution.dataset_id or (contract.id if contract is not None else None)
        return DatasetResolution(
            path=resolution.path if load_paths else (self._versioned_path(resolution.path, resolution.format)
                                                     or resolution.path),
            table=resolution.table, format=resolution.format, dataset_id=dataset_id,
            dataset_version=self.dataset_version, read_options=read_options or None,
            write_options=dict(resolution.write_options or {}) or None,
            custom_properties=resolution.custom_properties, load_paths=load_paths or resolution.load_paths)

    def for_read(self, *, contract: Any, spark: Any, format: Optional[str], path: Optional[str],
                 table: Optional[str]) -> DatasetResolution:
        return self._merge(contract, self.base.for_read(contract=contract, spark=spark, format=format, path=path,
                                                        table=table))

    def for_write(self, *, contract: Any, df: Any, format: Optional[str], path: Optional[str],
                  table: Optional[str]) -> DatasetResolution:
        return self._merge(contract, self.base.for_write(contract=contract, df=df, format=format, path=path,
                                                         table=table))


@attrs.frozen
class StaticDatasetLocator(locators.StaticDatasetLocator):
    """dc43's static locator that also answers ``for_read``/``for_write`` over a ``base`` locator.

    Without ``base`` it locates as dc43 does (the helper's arguments, then its own
    fields, then the contract's server); with one, its fields override the base's answer.
    """

    base: Any = None

    def _over(self, resolution: DatasetResolution) -> DatasetResolution:
        return DatasetResolution(
            path=self.path or resolution.path, table=self.table or resolution.table,
            format=self.format or resolution.format, dataset_id=self.dataset_id or resolution.dataset_id,
            dataset_version=self.dataset_version or resolution.dataset_version,
            read_options=dict(resolution.read_options or {}), write_options=dict(resolution.write_options or {}),
            custom_properties=resolution.custom_properties, load_paths=list(resolution.load_paths or []))

    def for_read(self, *, contract: Any, spark: Any, format: Optional[str], path: Optional[str],
                 table: Optional[str]) -> DatasetResolution:
        base = self.base or ContractFirstDatasetLocator()
        return self._over(base.for_read(contract=contract, spark=spark, format=format, path=path, table=table))

    def for_write(self, *, contract: Any, df: Any, format: Optional[str], path: Optional[str],
                  table: Optional[str]) -> DatasetResolution:
        base = self.base or ContractFirstDatasetLocator()
        return self._over(base.for_write(contract=contract, df=df, format=format, path=path, table=table))

    def locate(self, request: locators.LocateRequest) -> DatasetTarget:
        if self.base is None:
            return super().locate(request)
        return ResolutionLocator(self).locate(request)


@attrs.frozen
class ResolutionLocator:
    """A dc43 locator answering through an original-API locator's ``for_read``/``for_write``."""

    strategy: Any
    spark: Any = None
    df: Any = None

    def locate(self, request: locators.LocateRequest) -> DatasetTarget:
        contract = request.contract
        if request.operation == "read":
            found = self.strategy.for_read(contract=contract, spark=self.spark, format=request.format,
                                           path=request.path, table=request.table)
            extra = found.read_options
        else:
            found = self.strategy.for_write(contract=contract, df=self.df, format=request.format,
                                            path=request.path, table=request.table)
            extra = found.write_options
        server = contract.servers[0] if contract is not None and getattr(contract, "servers", None) else None
        fmt = found.format or request.format or (server.format or server.type if server is not None else None)
        if not fmt:
            raise InvalidArgumentError(
                f"the locator {type(self.strategy).__name__} gave no dataset format: pass format=..., or add a "
                "server with a format to the contract")
        version = found.dataset_version or (locators.STREAM_VERSION_TEMPLATE if request.streaming
                                            else locators.utc_timestamp())
        return DatasetTarget(
            format=fmt, dataset_id=found.dataset_id or dataset_id_from_ref(table=found.table, path=found.path),
            dataset_version=version, path=found.path, table=found.table, paths=tuple(found.load_paths or ()),
            options={**(extra or {}), **request.options}, server=server)


def as_locator(given: Any, *, spark: Any = None, df: Any = None) -> Any:
    """A dc43 locator for ``given``: ``None``, dc43's own or a plugin's name as is, an original one adapted.

    ``None`` locates as dc43 does: the helper's path or table wins over the contract's server
    (pass :class:`ContractFirstDatasetLocator` for the original's default, where the server wins).
    """
    if given is None or isinstance(given, str) or callable(getattr(given, "locate", None)):
        return given
    if callable(getattr(given, "for_read", None)) or callable(getattr(given, "for_write", None)):
        return ResolutionLocator(given, spark=spark, df=df)
    raise InvalidArgumentError(
        f"dataset_locator must be a locator: an object with locate(request), or for_read/for_write as in "
        f"the original dc43; got {type(given).__name__}")
