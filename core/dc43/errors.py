"""Exceptions raised by dc43. Every message names the problem and how to fix it.

Contract and violation errors are also ``ValueError``s, and intervention stops
``RuntimeError``s, as the original dc43 raised them: its pipelines' ``except``
clauses keep catching them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {choice.lower(): choice for choice in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean '{close[0]}'?)" if close else ""


class Dc43Error(Exception):
    """Base class of every error dc43 raises on purpose."""


class InvalidArgumentError(Dc43Error, ValueError):
    """An argument of a dc43 helper is wrong; the message names it and what to pass instead."""


class ConfigurationError(Dc43Error):
    """dc43's settings (``dc43.toml``, ``DC43_*`` variables) are wrong; the message names where."""


class GovernanceDatabaseError(Dc43Error):
    """A governance database file cannot be used: not SQLite, another application's, a folder."""


class ObservationLagError(Dc43Error):
    """A sink ran further ahead of the judging of its micro-batches than the write allows."""


class ServiceAuthError(Dc43Error):
    """The dc43 service refused the request's token (missing: 401, wrong: 403)."""


class NotFoundError(Dc43Error, LookupError):
    """A dataset, metric request or other record asked for is not kept; the message says what is."""


class ServiceRequestError(Dc43Error):
    """The dc43 service refused a request as malformed (a 4xx); the message says what it found."""


class PluginError(Dc43Error):
    """A plugin could not be loaded or broke a hook contract."""


class UnknownFormatError(Dc43Error):
    """No installed plugin provides the requested dataset format."""


class UnknownComponentError(Dc43Error):
    """A locator, observation writer or strategy name is not provided by any plugin."""


class ContractError(Dc43Error, ValueError):
    """Base class of contract loading, storing and resolution errors."""


class ContractFormatError(ContractError):
    """A contract document is malformed; names the source and the offending field."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(f"{source}: field '{field}': {problem}")


class ContractNotFoundError(ContractError):
    """The contract id or version is not in the store."""


class ContractConflictError(ContractError):
    """A store refused to overwrite an existing version with different content."""


class ContractStatusError(ContractError):
    """The resolved contract is not active and the caller did not opt in."""


class InvalidContractIdError(ContractError):
    """A contract id cannot be stored safely (empty, or escapes the store)."""


class VersionSelectorError(ContractError):
    """A version selector or version string cannot be parsed."""


class DataProductError(Dc43Error, ValueError):
    """A data product's status or version does not satisfy what the pipeline asks for."""


class SchemaMappingError(Dc43Error):
    """A contract property has a type dc43 cannot map to Spark."""


class ContractViolationError(Dc43Error, ValueError):
    """Data does not satisfy its contract and enforcement is on."""

    def __init__(self, message: str, validation: object | None = None) -> None:
        self.validation = validation
        super().__init__(message)


class StreamingInterventionError(Dc43Error, RuntimeError):
    """An intervention strategy decided to stop a streaming pipeline."""

    def __init__(self, reason: str, *, batch_id: int | None = None) -> None:
        self.reason = reason
        self.batch_id = batch_id
        super().__init__(reason)
