"""Components of dc43 itself, registered before any entry-point plugin.

They answer the catalogue hooks like any plugin, so a third-party plugin can
replace one by providing the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dc43.hookspecs import hookimpl
from dc43.locators import StaticDatasetLocator
from dc43.strategies import (
    BlockAfterFailuresStrategy,
    NoOpStreamingInterventionStrategy,
    RerouteStrategy,
    WarnStrategy,
)


@hookimpl
def dc43_dataset_locators() -> Mapping[str, Callable[..., Any]]:
    return {"static": StaticDatasetLocator}


@hookimpl
def dc43_observation_writers() -> Mapping[str, Callable[..., Any]]:
    def foreach_batch() -> Any:
        from dc43.spark.observation import ForeachBatchObservationWriter

        return ForeachBatchObservationWriter()

    def observe() -> Any:
        from dc43.spark.observation import ObserveObservationWriter

        return ObserveObservationWriter()

    def inline() -> Any:
        from dc43.spark.observation import InlineObservationWriter

        return InlineObservationWriter()

    return {"foreach-batch": foreach_batch, "observe": observe, "inline": inline}


@hookimpl
def dc43_intervention_strategies() -> Mapping[str, Callable[..., Any]]:
    return {
        "noop": NoOpStreamingInterventionStrategy,
        "block-after-failures": BlockAfterFailuresStrategy,
        "warn": WarnStrategy,
        "reroute": RerouteStrategy,
    }


@hookimpl
def dc43_notifiers() -> Mapping[str, Callable[..., Any]]:
    from dc43.alerts import LogNotifier, WebhookNotifier

    return {"log": LogNotifier, "webhook": WebhookNotifier}
