"""The original import path of the write-violation strategies (:mod:`dc43.legacy.violations`)."""

from dc43.legacy.violations import (
    NoOpWriteViolationStrategy,
    SplitWriteViolationStrategy,
    StrictWriteViolationStrategy,
    WritePlan,
    WriteRequest,
    WriteStrategyContext,
    WriteViolationStrategy,
)

__all__ = ["NoOpWriteViolationStrategy", "SplitWriteViolationStrategy", "StrictWriteViolationStrategy", "WritePlan",
           "WriteRequest", "WriteStrategyContext", "WriteViolationStrategy"]
