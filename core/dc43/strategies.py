"""Streaming intervention strategies: what to do after a micro-batch is judged.

A strategy's :meth:`~StreamingInterventionStrategy.decide` is called with the
context of every evaluated micro-batch; returning a reason (a string) stops the
pipeline, returning ``None`` lets it continue.  It may also return an
:class:`InterventionDecision` to warn or to reroute the stream to a rejection
sink instead.  Strategies may keep state.

Built-ins, also installed by name through the plugin hook: ``noop`` (the
default), ``block-after-failures``, ``warn`` and ``reroute``.
"""

from __future__ import annotations

from typing import Any, Optional

import attrs

from dc43.errors import InvalidArgumentError, StreamingInterventionError, did_you_mean
from dc43.results import ValidationResult

ACTIONS = ("block", "warn", "reroute")


@attrs.frozen
class StreamingInterventionContext:
    """What a strategy knows about one micro-batch."""

    batch_id: int
    validation: ValidationResult
    dataset_id: str
    dataset_version: str


@attrs.frozen
class InterventionDecision:
    """What to do about a micro-batch: ``block`` (stop), ``warn`` or ``reroute``."""

    action: str
    reason: str

    def __attrs_post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidArgumentError(f"action must be one of {', '.join(ACTIONS)}, got {self.action!r}"
                                       f"{did_you_mean(str(self.action), ACTIONS)}")

    @classmethod
    def of(cls, answer: Any) -> InterventionDecision | None:
        """Normalise a strategy's answer: ``None``, a reason (block) or a decision."""
        if answer is None or isinstance(answer, cls):
            return answer
        if isinstance(answer, str):
            return cls("block", answer)
        raise TypeError(f"decide() must return None, a reason string or an InterventionDecision, "
                        f"not {type(answer).__name__}")


class StreamingInterventionStrategy:
    """Base class: decide, for each micro-batch, whether the pipeline must stop."""

    #: True when the strategy may reroute: the write then needs a rejection sink and a
    #: writer that routes rows itself (``inline``).
    reroutes = False

    def decide(self, context: StreamingInterventionContext) -> Optional[str | InterventionDecision]:
        raise NotImplementedError


class NoOpStreamingInterventionStrategy(StreamingInterventionStrategy):
    """Never intervenes (the default)."""

    def decide(self, context: StreamingInterventionContext) -> Optional[str]:
        return None


def _describe(context: StreamingInterventionContext) -> str:
    problems = "; ".join(context.validation.errors) or context.validation.status
    return f"batch {context.batch_id} of {context.dataset_id}@{context.dataset_version}: {problems}"


def _count(name: str, value: Any) -> None:
    """A strategy's count of failing batches: a whole number, 1 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{name} must be a whole number of failing batches, at least 1, got {value!r}")


class BlockAfterFailuresStrategy(StreamingInterventionStrategy):
    """Stops the pipeline at the ``max_failures``-th failing batch (in a row, if ``consecutive``)."""

    def __init__(self, *, max_failures: int = 3, consecutive: bool = False) -> None:
        _count("max_failures", max_failures)
        if not isinstance(consecutive, bool):
            raise InvalidArgumentError(f"consecutive must be True or False, got {consecutive!r}")
        self.max_failures = max_failures
        self.consecutive = consecutive
        self.failures = 0

    def decide(self, context: StreamingInterventionContext) -> Optional[str]:
        if context.validation.ok:
            if self.consecutive:
                self.failures = 0
            return None
        self.failures += 1
        if self.failures < self.max_failures:
            return None
        run = "consecutive " if self.consecutive else ""
        return f"blocked after {self.failures} {run}failing batches; last: {_describe(context)}"


class WarnStrategy(StreamingInterventionStrategy):
    """Never stops; every failing batch becomes a warning (result, log, progress callback)."""

    def decide(self, context: StreamingInterventionContext) -> Optional[InterventionDecision]:
        if context.validation.ok:
            return None
        return InterventionDecision("warn", f"failing {_describe(context)}")


class RerouteStrategy(StreamingInterventionStrategy):
    """From the ``after_failures``-th failing batch on, every batch goes to the rejection sink."""

    reroutes = True

    def __init__(self, *, after_failures: int = 1) -> None:
        _count("after_failures", after_failures)
        self.after_failures = after_failures
        self.failures = 0
        self.switched_at: int | None = None

    def decide(self, context: StreamingInterventionContext) -> Optional[InterventionDecision]:
        if self.switched_at is None:
            if context.validation.ok:
                return None
            self.failures += 1
            if self.failures < self.after_failures:
                return None
            self.switched_at = context.batch_id
        return InterventionDecision(
            "reroute", f"rerouted to the rejection sink since batch {self.switched_at} "
                       f"({self.failures} failing batches)")


__all__ = [
    "BlockAfterFailuresStrategy", "InterventionDecision", "NoOpStreamingInterventionStrategy",
    "RerouteStrategy", "WarnStrategy", "StreamingInterventionContext",
    "StreamingInterventionError", "StreamingInterventionStrategy",
]
