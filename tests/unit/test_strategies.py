"""Built-in intervention strategies and decision handling, without Spark."""

from __future__ import annotations

import pytest
from dc43.plugins import get_plugin_manager, resolve_strategy
from dc43.results import ValidationResult
from dc43.strategies import (
    BlockAfterFailuresStrategy,
    InterventionDecision,
    RerouteStrategy,
    StreamingInterventionContext,
    WarnStrategy,
)


def ctx(batch_id: int, ok: bool) -> StreamingInterventionContext:
    validation = ValidationResult() if ok else ValidationResult(errors=[f"bad batch {batch_id}"])
    return StreamingInterventionContext(batch_id=batch_id, validation=validation,
                                        dataset_id="orders", dataset_version=str(batch_id))


PATTERN = [True, False, True, False, False, True]  # ok, fail, ok, fail, fail, ok


@pytest.mark.parametrize(("consecutive", "stops_at"), [(False, 3), (True, 4)])
def test_block_after_failures_in_total_or_in_a_row(consecutive: bool, stops_at: int) -> None:
    strategy = BlockAfterFailuresStrategy(max_failures=2, consecutive=consecutive)
    answers = [strategy.decide(ctx(i, ok)) for i, ok in enumerate(PATTERN)]
    first = next(i for i, answer in enumerate(answers) if answer)
    assert first == stops_at
    assert "bad batch" in answers[first]


def test_warn_flags_each_failing_batch_and_never_blocks() -> None:
    strategy = WarnStrategy()
    decisions = [InterventionDecision.of(strategy.decide(ctx(i, ok))) for i, ok in enumerate(PATTERN)]
    assert [d.action if d else None for d in decisions] == [None, "warn", None, "warn", "warn", None]


def test_reroute_switches_for_good_at_the_nth_failure() -> None:
    strategy = RerouteStrategy(after_failures=2)
    decisions = [strategy.decide(ctx(i, ok)) for i, ok in enumerate(PATTERN)]
    assert [d.action if d else None for d in decisions] == [None, None, None, "reroute", "reroute", "reroute"]
    assert "since batch 3" in decisions[-1].reason


def test_answers_are_normalised() -> None:
    assert InterventionDecision.of(None) is None
    assert InterventionDecision.of("stop now") == InterventionDecision("block", "stop now")
    with pytest.raises(TypeError, match="InterventionDecision"):
        InterventionDecision.of(42)
    with pytest.raises(ValueError, match="action must be one of"):
        InterventionDecision("explode", "x")


def test_built_ins_are_installed_by_name_with_options() -> None:
    names = set(get_plugin_manager().intervention_strategies())
    assert {"noop", "block-after-failures", "warn", "reroute"} <= names
    strategy = resolve_strategy("block-after-failures", max_failures=5, consecutive=True)
    assert (strategy.max_failures, strategy.consecutive) == (5, True)
    with pytest.raises(ValueError, match="at least 1"):
        resolve_strategy("reroute", after_failures=0)
