"""Every hook a dc43 plugin can implement.

Plugins are modules (or objects) registered under the ``dc43`` entry-point group.
They implement any of the hooks below with the :data:`dc43.hookimpl` marker.
Catalogue hooks (formats, locators, writers, strategies) return a mapping from a
*name* to the component; every plugin is asked and the names are merged, the
last-registered plugin (third parties, after the bundled ones) winning a clash.
Service hooks are ``firstresult``: the first plugin returning something other
than ``None`` provides the service; bundled plugins implement them ``trylast``.

Hook bodies may import heavy libraries (pyspark); plugin modules must not import
them at module level, so that discovering plugins stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    from dc43.formats import DatasetFormat
    from dc43.settings import Settings

hookspec = pluggy.HookspecMarker("dc43")
hookimpl = pluggy.HookimplMarker("dc43")


@hookspec
def dc43_dataset_formats() -> Mapping[str, DatasetFormat]:
    """Return dataset formats this plugin can read and write, by format name.

    Each value is a :class:`dc43.formats.DatasetFormat` that builds
    ``readStream``/``writeStream`` (and batch) IO for a resolved
    :class:`dc43.formats.DatasetTarget`.
    """


@hookspec
def dc43_dataset_locators() -> Mapping[str, Callable[..., Any]]:
    """Return dataset locator factories by name (for example ``static``).

    A factory returns an object with a ``locate(request)`` method (see
    :class:`dc43.locators.DatasetLocator`); helpers given ``dataset_locator="name"``
    call it with no arguments.
    """


@hookspec(firstresult=True)
def dc43_contract_service(settings: Settings) -> Any:
    """Return the contract service client to use for ``settings``, or ``None``.

    :param settings: the resolved :class:`dc43.settings.Settings`.
    firstresult: the first non-``None`` answer wins.
    """


@hookspec(firstresult=True)
def dc43_data_quality_service(settings: Settings) -> Any:
    """Return the data-quality service client for ``settings``, or ``None``.

    :param settings: the resolved :class:`dc43.settings.Settings`.
    firstresult: the first non-``None`` answer wins.
    """


@hookspec(firstresult=True)
def dc43_governance_service(settings: Settings) -> Any:
    """Return the governance service client for ``settings``, or ``None``.

    :param settings: the resolved :class:`dc43.settings.Settings`.
    firstresult: the first non-``None`` answer wins.
    """


@hookspec(firstresult=True)
def dc43_data_product_service(settings: Settings) -> Any:
    """Return the data-product service for ``settings``, or ``None``.

    :param settings: the resolved :class:`dc43.settings.Settings`.
    firstresult: the first non-``None`` answer wins.
    """


@hookspec
def dc43_observation_writers() -> Mapping[str, Callable[..., Any]]:
    """Return observation writer factories by name (for example ``foreach-batch``).

    A factory is called with no arguments and returns a single-use
    :class:`dc43.spark.observation.ObservationWriter`.
    """


@hookspec
def dc43_intervention_strategies() -> Mapping[str, Callable[..., Any]]:
    """Return streaming intervention strategy factories by name (for example ``noop``).

    A factory returns a :class:`dc43.strategies.StreamingInterventionStrategy`;
    ``streaming_intervention_strategy="name"`` calls it with no arguments and
    :func:`dc43.plugins.resolve_strategy` passes any keyword options it is given.
    """


@hookspec
def dc43_run_listeners() -> Mapping[str, Callable[[], Any]]:
    """Return run listener factories by name (for example ``openlineage``).

    Every write calls each factory with no arguments; it returns a
    :class:`dc43.runs.RunListener` told about the write's start, each judged
    micro-batch and its end, or ``None`` when it has nothing to do (not configured).
    Unlike the other catalogues, every listener returned is used.
    """


@hookspec
def dc43_notifiers() -> Mapping[str, Callable[[], Any]]:
    """Return notifier factories by name (for example ``webhook``).

    ``notifiers=["name"]`` on a streaming write calls the factory with no arguments; it
    returns an object whose ``notify(alert)`` sends a :class:`dc43.alerts.Alert` (a status
    change of the write) and raises when it could not.
    """
