"""Streaming intervention strategies: what to do after a micro-batch is judged.

A strategy's :meth:`~StreamingInterventionStrategy.decide` is called with the
context of every evaluated micro-batch; returning a reason (a string) stops the
pipeline, returning ``None`` lets it continue.  Strategies may keep state.
"""

from __future__ import annotations

from typing import Any, Optional

import attrs

from dc43.errors import StreamingInterventionError
from dc43.results import ValidationResult


@attrs.frozen
class StreamingInterventionContext:
    """What a strategy knows about one micro-batch."""

    batch_id: int
    validation: ValidationResult
    dataset_id: str
    dataset_version: str


class StreamingInterventionStrategy:
    """Base class: decide, for each micro-batch, whether the pipeline must stop."""

    def decide(self, context: StreamingInterventionContext) -> Optional[str]:
        raise NotImplementedError


class NoOpStreamingInterventionStrategy(StreamingInterventionStrategy):
    """Never intervenes (the default)."""

    def decide(self, context: StreamingInterventionContext) -> Optional[str]:
        return None


def resolve_strategy(value: Any, **options: Any) -> StreamingInterventionStrategy:
    """An instance as is, ``None`` as no-op, or a name looked up in the plugins.

    ``options`` are passed to the factory of a strategy given by name.
    """
    if value is None:
        return NoOpStreamingInterventionStrategy()
    if isinstance(value, str):
        from dc43.plugins import get_plugin_manager

        return get_plugin_manager().lookup("intervention strategy", value).value(**options)
    if not callable(getattr(value, "decide", None)):
        raise TypeError(
            f"streaming_intervention_strategy must be a strategy name or an object with a "
            f"decide(context) method, got {type(value).__name__}"
        )
    return value


__all__ = [
    "NoOpStreamingInterventionStrategy", "StreamingInterventionContext",
    "StreamingInterventionError", "StreamingInterventionStrategy", "resolve_strategy",
]
