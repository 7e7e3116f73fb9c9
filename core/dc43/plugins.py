"""The dc43 plugin manager: discovery, ordering, error isolation and listing.

Plugins come from the ``dc43`` entry-point group only; dc43's own plugins are
registered there too, so they load exactly like third-party ones.  Registration
order is deliberate: bundled plugins first, third-party plugins after them, so
pluggy (which calls the last registered first) lets third parties override.

Environment switches:

``DC43_LOAD_PLUGINS=a,b``
    load only these entry points (an allow-list; an empty value loads none).
``DC43_DISABLE_PLUGINS=a,b``
    never load these entry points.
``DC43_STRICT_PLUGINS=1``
    raise :class:`dc43.errors.PluginError` instead of warning on a broken plugin.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterable
from typing import Any

import attrs
import pluggy

from dc43 import builtins, hookspecs
from dc43.errors import InvalidArgumentError, PluginError, UnknownComponentError, did_you_mean

if sys.version_info >= (3, 12):
    from importlib import metadata as importlib_metadata
else:  # pragma: no cover - depends on the interpreter
    import importlib_metadata

ENTRY_POINT_GROUP = "dc43"
BUNDLED_DISTRIBUTION = "dc43"

log = logging.getLogger(__name__)


@attrs.frozen
class PluginRecord:
    """What the manager knows about one entry point."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    bundled: bool
    error: str | None = None


@attrs.frozen
class Provided:
    """A named component and the plugin that provides it."""

    name: str
    value: Any
    plugin: str


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _check_named(variable: str, names: Iterable[str], installed: set[str], *, strict: bool) -> None:
    """An allow-list naming a plugin that is not installed loses it for good: refuse it."""
    unknown = sorted(set(names) - installed)
    if not unknown:
        return
    hints = "".join(did_you_mean(name, installed) for name in unknown)
    text = (f"{variable} names {', '.join(map(repr, unknown))}{hints}, which no installed dc43 plugin provides; "
            f"installed: {', '.join(sorted(installed)) or 'none'}. Fix the variable or install the plugin.")
    if strict:
        raise PluginError(text)
    warnings.warn(text, RuntimeWarning, stacklevel=3)
    log.warning(text)


def _strict() -> bool:
    return os.environ.get("DC43_STRICT_PLUGINS", "").lower() in {"1", "true", "yes"}


class PluginManager:
    """Wraps :class:`pluggy.PluginManager` with dc43's loading rules and registries."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager("dc43")
        self._pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self._catalogues: dict[str, dict[str, Provided]] = {}
        self.register(builtins, name="builtins")
        self.records["builtins"] = PluginRecord(
            name="builtins", module=builtins.__name__, distribution=BUNDLED_DISTRIBUTION,
            version=_dc43_version(), bundled=True,
        )

    @property
    def hook(self) -> Any:
        return self._pm.hook

    # -- loading ---------------------------------------------------------
    def load_entry_points(self) -> None:
        """Register every allowed entry point of the ``dc43`` group."""
        allowed = _env_list("DC43_LOAD_PLUGINS")
        disabled = set(_env_list("DC43_DISABLE_PLUGINS") or [])
        installed = importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)
        _check_named("DC43_LOAD_PLUGINS", allowed or [], {ep.name for ep in installed}, strict=True)
        _check_named("DC43_DISABLE_PLUGINS", disabled, {ep.name for ep in installed}, strict=False)
        selected = []
        for ep in installed:
            if ep.name in disabled or (allowed is not None and ep.name not in allowed):
                continue
            selected.append(ep)
        # Bundled first, third parties after: pluggy calls the last registered first.
        selected.sort(key=lambda ep: (_distribution_name(ep) != BUNDLED_DISTRIBUTION, ep.name))
        seen: set[str] = set()
        for ep in selected:
            if ep.name in seen:
                continue  # the same distribution found twice on sys.path
            seen.add(ep.name)
            self._load_entry_point(ep)

    def _load_entry_point(self, ep: Any) -> None:
        dist = _distribution_name(ep)
        version = ep.dist.version if getattr(ep, "dist", None) is not None else None
        record = PluginRecord(
            name=ep.name, module=ep.value, distribution=dist, version=version,
            bundled=dist == BUNDLED_DISTRIBUTION,
        )
        try:
            plugin = ep.load()
            self.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not break the host
            message = f"{type(exc).__name__}: {exc}"
            record = attrs.evolve(record, error=message)
            self.records[ep.name] = record
            text = (
                f"dc43 plugin '{ep.name}' ({ep.value}, from {dist or 'unknown distribution'}) "
                f"failed to load and was skipped: {message}. Fix or uninstall it, or set "
                f"DC43_DISABLE_PLUGINS={ep.name}."
            )
            if _strict():
                raise PluginError(text) from exc
            warnings.warn(text, RuntimeWarning, stacklevel=2)
            log.warning(text)
            return
        self.records[ep.name] = record

    def register(self, plugin: Any, name: str) -> None:
        """Register ``plugin`` and verify its hooks; on failure nothing stays registered."""
        if self._pm.get_plugin(name) is not None:
            raise PluginError(f"a dc43 plugin named '{name}' is already registered")
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self._pm.get_plugin(name) is not None:
                self._pm.unregister(name=name)
            raise PluginError(f"invalid hook implementation in plugin '{name}': {exc}") from exc
        self._catalogues.clear()
        self.records.setdefault(
            name,
            PluginRecord(name=name, module=getattr(plugin, "__name__", repr(plugin)),
                         distribution=None, version=None, bundled=False),
        )

    # -- catalogues ------------------------------------------------------
    def _catalogue(self, hook_name: str) -> dict[str, Provided]:
        if hook_name in self._catalogues:
            return self._catalogues[hook_name]
        caller = getattr(self._pm.hook, hook_name)
        merged: dict[str, Provided] = {}
        # get_hookimpls() lists in reverse call order; the first caller wins a clash.
        for impl in reversed(caller.get_hookimpls()):
            try:
                answer = impl.function()
            except Exception as exc:
                self._report_hook_failure(impl.plugin_name, hook_name, exc)
                continue
            for name, value in dict(answer or {}).items():
                merged.setdefault(name, Provided(name=name, value=value, plugin=impl.plugin_name))
        self._catalogues[hook_name] = merged
        return merged

    def _report_hook_failure(self, plugin: str, hook_name: str, exc: Exception) -> None:
        text = f"dc43 plugin '{plugin}' raised in {hook_name}: {type(exc).__name__}: {exc}"
        if _strict():
            raise PluginError(text) from exc
        record = self.records.get(plugin)
        if record is not None:
            self.records[plugin] = attrs.evolve(record, error=text)
        warnings.warn(text, RuntimeWarning, stacklevel=3)
        log.warning(text)

    def formats(self) -> dict[str, Provided]:
        return self._catalogue("dc43_dataset_formats")

    def locators(self) -> dict[str, Provided]:
        return self._catalogue("dc43_dataset_locators")

    def observation_writers(self) -> dict[str, Provided]:
        return self._catalogue("dc43_observation_writers")

    def intervention_strategies(self) -> dict[str, Provided]:
        return self._catalogue("dc43_intervention_strategies")

    def run_listeners(self) -> dict[str, Provided]:
        return self._catalogue("dc43_run_listeners")

    def notifiers(self) -> dict[str, Provided]:
        return self._catalogue("dc43_notifiers")

    def lookup(self, kind: str, name: str) -> Provided:
        """Find component ``name`` of ``kind`` or raise an error listing what exists."""
        catalogue = {
            "format": self.formats,
            "locator": self.locators,
            "observation writer": self.observation_writers,
            "intervention strategy": self.intervention_strategies,
        }[kind]()
        if name in catalogue:
            return catalogue[name]
        available = ", ".join(f"{p.name} (plugin '{p.plugin}')" for p in sorted(
            catalogue.values(), key=lambda p: p.name)) or "none"
        error = UnknownComponentError
        if kind == "format":
            from dc43.errors import UnknownFormatError

            error = UnknownFormatError
        raise error(
            f"unknown {kind} '{name}'{did_you_mean(name, catalogue)}. Installed: {available}. Install a dc43 plugin that "
            f"provides '{name}' (entry-point group 'dc43'), or use one of the installed names."
        )

    # -- listing ---------------------------------------------------------
    def describe(self) -> list[dict[str, Any]]:
        """A JSON-ready list of plugins: name, distribution, version, hooks, error.

        Every catalogue is built first, so a plugin whose hook raises shows its error.
        """
        for catalogue in (self.formats, self.locators, self.observation_writers,
                          self.intervention_strategies, self.run_listeners, self.notifiers):
            catalogue()
        listing = []
        for name, record in sorted(self.records.items()):
            plugin = self._pm.get_plugin(name)
            hooks = sorted(
                impl_caller.name
                for impl_caller in (self._pm.get_hookcallers(plugin) or [])
            ) if plugin is not None else []
            listing.append({
                "name": name,
                "module": record.module,
                "distribution": record.distribution,
                "version": record.version,
                "bundled": record.bundled,
                "hooks": hooks,
                "error": record.error,
            })
        return listing

    def service(self, kind: str, settings: Any) -> Any:
        """Ask the plugins for the ``contract``/``data_quality``/``governance``/``data_product`` service."""
        hook = getattr(self._pm.hook, f"dc43_{kind}_service")
        found = hook(settings=settings)
        if found is None:
            raise UnknownComponentError(
                f"no installed dc43 plugin provides a {kind.replace('_', '-')} service. "
                "Install one, or pass the service explicitly."
            )
        return found


def _dc43_version() -> str | None:
    try:
        return importlib_metadata.version(BUNDLED_DISTRIBUTION)
    except importlib_metadata.PackageNotFoundError:
        return None


def _distribution_name(ep: Any) -> str | None:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None
    return (dist.metadata["Name"] or "").lower() or None


_manager: PluginManager | None = None
_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """Return the process-wide manager, loading entry points on first use."""
    global _manager
    with _lock:
        if _manager is None:
            manager = PluginManager()
            manager.load_entry_points()
            _manager = manager
        return _manager



def plugin_service(kind: str, settings: Any) -> Any:
    """The plugins' ``kind`` service for ``settings``; what the batch side rebuilds a service with."""
    return get_plugin_manager().service(kind, settings)

def reset_plugin_manager(plugins: Iterable[tuple[str, Any]] | None = None) -> PluginManager | None:
    """Forget the loaded plugins; with ``plugins``, install a manager holding only those."""
    global _manager
    with _lock:
        if plugins is None:
            _manager = None
            return None
        manager = PluginManager()
        for name, plugin in plugins:
            manager.register(plugin, name=name)
        _manager = manager
        return manager


def plugin_listing() -> list[dict[str, Any]]:
    return get_plugin_manager().describe()


def resolve_strategy(value: Any, **options: Any) -> Any:
    """A streaming intervention strategy: an instance as is, ``None`` as no-op, or a name
    looked up in the plugins (its factory gets ``options``)."""
    from dc43.strategies import NoOpStreamingInterventionStrategy

    if value is None:
        return NoOpStreamingInterventionStrategy()
    if isinstance(value, str):
        factory = get_plugin_manager().lookup("intervention strategy", value).value
        try:
            inspect.signature(factory).bind(**options)
        except TypeError as exc:
            accepted = list(inspect.signature(factory).parameters)
            hint = "".join(did_you_mean(name, accepted) for name in options if name not in accepted)
            raise InvalidArgumentError(f"intervention strategy {value!r} does not take {sorted(options)} ({exc})"
                                       f"{hint}; its options: {', '.join(accepted) or 'none'}") from None
        return factory(**options)
    if isinstance(value, type):
        raise InvalidArgumentError(
            f"streaming_intervention_strategy got the class {value.__name__}; pass an instance, "
            f"{value.__name__}(...), so it keeps its state from batch to batch")
    if not callable(getattr(value, "decide", None)):
        raise InvalidArgumentError(
            f"streaming_intervention_strategy must be a strategy name or an object with a "
            f"decide(context) method, got {type(value).__name__}"
        )
    return value


__all__ = [
    "PluginManager", "PluginRecord", "Provided", "get_plugin_manager", "reset_plugin_manager",
    "plugin_listing", "resolve_strategy", "ENTRY_POINT_GROUP",
]
