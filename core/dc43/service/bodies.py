"""The JSON bodies the service takes (pydantic models: FastAPI checks them and documents them in
``/openapi.json``). Unknown fields are refused, so a misspelled key is a 422, never ignored."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["ok", "warn", "block", "unknown"]
Text = Annotated[str, Field(min_length=1, max_length=1024)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Verdict(Body):
    """A micro-batch's verdict (``dc43.governance.BatchVerdict``)."""

    dataset_id: Text
    dataset_version: Text
    batch_id: int = Field(ge=0)
    contract_id: Text
    contract_version: Text
    status: Status
    row_count: int = Field(ge=0)
    metrics: dict[str, Any]
    reason: str | None = None
    recorded_at: Text
    commit: dict[str, Any] | None = None
    query_id: str = Field(default="", max_length=64)
    rules: list[dict[str, Any]] = Field(default_factory=list)


class Observation(Body):
    """A schema seen by a read or write (``dc43.governance.SchemaObservation``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dataset_id: Text
    dataset_version: Text
    contract_id: Text
    contract_version: Text
    operation: Text
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    status: Status
    pipeline_context: dict[str, Any] = Field(default_factory=dict)
    recorded_at: Text
    location: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)


class Commit(Body):
    """What a judged batch's write committed (``{"sink": {"delta_version": 7}}``)."""

    dataset_id: Text
    dataset_version: Text
    batch_id: int = Field(ge=0)
    commit: dict[str, Any]
    query_id: str = Field(default="", max_length=64)


class Alert(Body):
    """An alert a streaming write sent (``dc43.alerts.Alert.to_dict()``) and who got it."""

    alert: dict[str, Any]
    delivered: dict[str, bool] = Field(default_factory=dict)


class StalePeriod(Body):
    """A stream that delivered no rows for longer than its contract's frequency."""

    dataset_id: Text
    since: Text
    detected_at: Text
    last_batch_id: int | None = None
    frequency_s: float = Field(gt=0)


class StaleEnd(Body):
    ended_at: Text


class Link(Body):
    """A dataset version and the contract it follows."""

    dataset_id: Text
    dataset_version: Text
    contract_id: Text
    contract_version: Text


class MetricsRequest(Body):
    """The state of an asynchronous metric computation (``dc43.governance.MetricsRequest``)."""

    request_id: str = Field(min_length=1, max_length=64)
    dataset_id: Text
    dataset_version: Text
    state: Literal["pending", "running", "done", "failed"]
    status: Status | None = None
    metrics: dict[str, Any] | None = None
    error: str | None = None
    requested_at: str = ""
    finished_at: str | None = None


class Payload(Body):
    """What a batch measured (``dc43.results.ObservationPayload``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    metrics: dict[str, Any] = Field(default_factory=dict)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    reused: bool = False


class Expectations(Body):
    """An ODCS contract document to plan."""

    contract: dict[str, Any]


class Evaluation(Body):
    """An ODCS contract document and the metrics to judge against it."""

    contract: dict[str, Any]
    payload: Payload


class PortBinding(Body):
    """A port to bind on a data product's newest version."""

    kind: Literal["input", "output"]
    port: dict[str, Any]
