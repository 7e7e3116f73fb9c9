"""The plugin manager: listing, ordering, validation, error isolation and switches (no Spark)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest
from dc43 import hookimpl, hookspecs
from dc43.errors import PluginError, UnknownComponentError, UnknownFormatError
from dc43.formats import DatasetFormat
from dc43.plugins import PluginManager, get_plugin_manager, reset_plugin_manager
from dc43.settings import Settings

BUNDLED = {"builtins", "filesystem", "memory", "rate", "kafka", "delta", "openlineage", "http"}
BUNDLED_HOOKS = {
    "builtins": ["dc43_dataset_locators", "dc43_intervention_strategies", "dc43_notifiers",
                 "dc43_observation_writers"],
    "filesystem": ["dc43_contract_service", "dc43_data_product_service", "dc43_dataset_formats",
                   "dc43_governance_service"],
    "memory": ["dc43_data_quality_service", "dc43_dataset_formats"],
    "rate": ["dc43_dataset_formats"],
    "kafka": ["dc43_dataset_formats"],
    "delta": ["dc43_dataset_formats"],
    "openlineage": ["dc43_run_listeners"],
    "http": ["dc43_contract_service", "dc43_data_product_service", "dc43_data_quality_service",
             "dc43_governance_service"],
}


class AcmeFormat(DatasetFormat):
    name = "memory"


class Acme:
    """A third-party plugin overriding the bundled governance service and memory format."""

    governance = object()

    @hookimpl
    def dc43_governance_service(self, settings: Settings) -> Any:
        return self.governance

    @hookimpl
    def dc43_data_quality_service(self, settings: Settings) -> Any:
        return None  # declines: the bundled service answers

    @hookimpl
    def dc43_dataset_formats(self) -> Mapping[str, DatasetFormat]:
        return {"memory": AcmeFormat()}


class Typo:
    @hookimpl
    def dc43_dataset_formats(self) -> Mapping[str, DatasetFormat]:
        return {"typo-format": AcmeFormat()}

    @hookimpl
    def dc43_dataset_formatz(self) -> Mapping[str, DatasetFormat]:
        return {}


class WrongArgument:
    @hookimpl
    def dc43_dataset_formats(self) -> Mapping[str, DatasetFormat]:
        return {"wrong-format": AcmeFormat()}

    @hookimpl
    def dc43_governance_service(self, setting: Settings) -> Any:
        return None


class Exploding:
    @hookimpl
    def dc43_dataset_formats(self) -> Mapping[str, DatasetFormat]:
        raise RuntimeError("kaput")


def spec_functions() -> dict[str, Any]:
    return {name: fn for name, fn in vars(hookspecs).items()
            if inspect.isfunction(fn) and hasattr(fn, "dc43_spec")}


def test_bundled_plugins_are_listed_with_their_hooks() -> None:
    listing = {entry["name"]: entry for entry in get_plugin_manager().describe()}
    assert set(listing) == BUNDLED
    for name, hooks in BUNDLED_HOOKS.items():
        entry = listing[name]
        assert entry["hooks"] == hooks
        assert (entry["distribution"], entry["bundled"], entry["error"]) == ("dc43", True, None)
    assert listing["rate"]["module"] == "dc43_rate"
    json.dumps(list(listing.values()))  # the CLI prints it as JSON


def test_third_party_registered_after_bundled_wins(tmp_path) -> None:
    manager = PluginManager()
    manager.load_entry_points()
    settings = Settings(state_dir=tmp_path)
    bundled_governance = manager.service("governance", settings)
    manager.register(Acme(), name="acme")

    assert manager.service("governance", settings) is Acme.governance
    assert manager.service("governance", settings) is not bundled_governance
    assert type(manager.service("data_quality", settings)).__name__ == "LocalDataQualityService"
    provided = manager.lookup("format", "memory")
    assert (provided.plugin, type(provided.value)) == ("acme", AcmeFormat)
    assert manager.lookup("format", "parquet").plugin == "filesystem"


def test_misspelled_hook_is_refused_and_nothing_stays_registered() -> None:
    manager = PluginManager()
    with pytest.raises(PluginError, match="dc43_dataset_formatz") as error:
        manager.register(Typo(), name="typo")
    assert "'typo'" in str(error.value)
    assert "typo" not in {entry["name"] for entry in manager.describe()}
    assert "typo-format" not in manager.formats()
    impls = manager.hook.dc43_dataset_formats.get_hookimpls()
    assert "typo" not in {impl.plugin_name for impl in impls}
    manager.register(Acme(), name="typo")  # the name is free again


def test_hook_with_unknown_argument_is_refused() -> None:
    manager = PluginManager()
    with pytest.raises(PluginError, match=r"plugin 'wrong'(.|\n)*dc43_governance_service"):
        manager.register(WrongArgument(), name="wrong")
    assert "wrong" not in {entry["name"] for entry in manager.describe()}
    assert "wrong-format" not in manager.formats()


def test_raising_catalogue_hook_is_reported_and_isolated() -> None:
    manager = get_plugin_manager()
    manager.register(Exploding(), name="exploding")
    with pytest.warns(RuntimeWarning, match="'exploding' raised in dc43_dataset_formats.*kaput"):
        formats = manager.formats()
    assert {"parquet", "memory", "rate"} <= set(formats)
    assert manager.lookup("format", "rate").plugin == "rate"
    listing = {entry["name"]: entry for entry in manager.describe()}
    assert "RuntimeError: kaput" in listing["exploding"]["error"]
    assert all(listing[name]["error"] is None for name in BUNDLED)


def test_strict_mode_raises_on_a_raising_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DC43_STRICT_PLUGINS", "1")
    manager = get_plugin_manager()
    manager.register(Exploding(), name="exploding")
    with pytest.raises(PluginError, match="'exploding'.*kaput"):
        manager.formats()


def test_unknown_names_list_what_is_installed_and_by_whom() -> None:
    manager = get_plugin_manager()
    with pytest.raises(UnknownFormatError) as error:
        manager.lookup("format", "nope")
    message = str(error.value)
    assert "unknown format 'nope'" in message
    for fragment in ("parquet (plugin 'filesystem')", "memory (plugin 'memory')",
                     "rate (plugin 'rate')", "rate-micro-batch (plugin 'rate')"):
        assert fragment in message
    with pytest.raises(UnknownComponentError, match=r"noop \(plugin 'builtins'\)"):
        manager.lookup("intervention strategy", "nope")


def test_disable_plugins_blocks_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DC43_DISABLE_PLUGINS", "rate")
    reset_plugin_manager()
    manager = get_plugin_manager()
    assert {entry["name"] for entry in manager.describe()} == BUNDLED - {"rate"}
    with pytest.raises(UnknownFormatError, match="unknown format 'rate'"):
        manager.lookup("format", "rate")
    assert "parquet" in manager.formats()


def test_discovery_imports_no_pyspark() -> None:
    code = ("import dc43, dc43.plugins; dc43.plugins.get_plugin_manager(); "
            "import sys; print('pyspark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, "False"), out.stderr


@pytest.mark.parametrize("name", sorted(spec_functions()))
def test_hookspec_is_documented_prefixed_and_implemented(name: str) -> None:
    assert name.startswith("dc43_")
    assert (inspect.getdoc(spec_functions()[name]) or "").strip(), f"{name} has no docstring"
    impls = getattr(get_plugin_manager().hook, name).get_hookimpls()
    assert {impl.plugin_name for impl in impls} & BUNDLED, f"no bundled plugin implements {name}"


def test_every_dc43_function_in_hookspecs_is_a_hook() -> None:
    functions = {name for name, fn in vars(hookspecs).items()
                 if inspect.isfunction(fn) and name.startswith("dc43_")}
    assert functions and functions == set(spec_functions())


def test_listing_shows_a_plugin_whose_catalogue_hook_raises() -> None:
    from dc43 import hookimpl
    from dc43.plugins import PluginManager

    class Exploding:
        @hookimpl
        def dc43_dataset_formats(self):
            raise RuntimeError("no formats today")

    manager = PluginManager()
    manager.register(Exploding(), name="exploding")
    with pytest.warns(RuntimeWarning, match="exploding"):
        listing = {entry["name"]: entry for entry in manager.describe()}
    assert "no formats today" in listing["exploding"]["error"]
