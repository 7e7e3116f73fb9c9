"""What a governed read or write of the original API asks for, and what governance resolves it to.

``read_with_governance``/``write_with_governance`` take a request (context plus Spark
overrides); a governance service resolves its context to a plan: the contract, the dataset
identifiers and the data-product binding (:func:`resolve_read`, :func:`resolve_write`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Optional

from dc43.errors import InvalidArgumentError
from dc43.products import DataProductInputBinding, DataProductOutputBinding


class GovernancePublicationMode(str, enum.Enum):
    """How a governed helper publishes its activity: to governance (``legacy``, the default), or only
    as OpenLineage events (``open_data_lineage``, dc43's ``openlineage`` plugin) or spans."""

    LEGACY = "legacy"
    OPEN_DATA_LINEAGE = "open_data_lineage"
    OPEN_TELEMETRY = "open_telemetry"

    @classmethod
    def from_value(cls, value: Any) -> GovernancePublicationMode:
        if isinstance(value, cls):
            return value
        text = str(value or "").strip().lower().replace("-", "_")
        aliases = {"": "legacy", "default": "legacy", "lineage": "open_data_lineage",
                   "openlineage": "open_data_lineage", "open_lineage": "open_data_lineage",
                   "telemetry": "open_telemetry", "otel": "open_telemetry", "opentelemetry": "open_telemetry"}
        try:
            return cls(aliases.get(text, text))
        except ValueError:
            raise InvalidArgumentError(f"publication mode {value!r} is unknown; use one of "
                                       f"{', '.join(m.value for m in cls)}") from None


def pipeline_context_of(value: Any) -> Optional[dict[str, Any]]:
    """The original's pipeline contexts (a mapping, ``(key, value)`` pairs, a name, a
    ``PipelineContext``) as the mapping dc43 records."""
    if value is None:
        return None
    if callable(getattr(value, "as_dict", None)):
        return dict(value.as_dict()) or None
    if isinstance(value, str):
        return {"pipeline": value.strip()} if value.strip() else None
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and all(isinstance(i, tuple) and len(i) == 2 for i in value):
        return {str(k): v for k, v in value} or None
    raise InvalidArgumentError(f"pipeline_context must be a mapping, (key, value) pairs or a pipeline name, "
                               f"got {type(value).__name__}")


@dataclass
class PipelineContext:
    """A pipeline named for governance: its name, a label and any metadata."""

    pipeline: Optional[str] = None
    label: Optional[str] = None
    metadata: Optional[Mapping[str, object]] = None

    def as_dict(self) -> dict[str, object]:
        payload: dict[str, object] = dict(self.metadata or {})
        if self.label:
            payload.setdefault("label", self.label)
        if self.pipeline:
            payload.setdefault("pipeline", self.pipeline)
        return payload


@dataclass
class ContractReference:
    """The contract a governed helper works under: an id, and a version or a selector."""

    contract_id: str
    contract_version: Optional[str] = None
    version_selector: Optional[str] = None

    def selector(self) -> Optional[str]:
        """The version selector dc43 resolves (``==1.0.0`` for an explicit version; ``None``: the latest)."""
        if self.contract_version:
            return f"=={self.contract_version}"
        wanted = (self.version_selector or "").strip()
        return None if wanted.lower() in ("", "latest", "newest") else wanted

    def resolved_version(self) -> Optional[str]:
        """The explicit version this reference names, if any."""
        wanted = self.selector()
        return wanted[2:].strip() or None if wanted and wanted.startswith("==") else None


def _reference(value: Any) -> Optional[ContractReference]:
    if value is None or isinstance(value, ContractReference):
        return value
    if isinstance(value, Mapping):
        return ContractReference(**dict(value))
    raise InvalidArgumentError(f"contract must be a ContractReference or a mapping with contract_id, got "
                               f"{type(value).__name__}")


@dataclass
class _Policy:
    """What governed contexts and plans share: the draft policy and the data-product status policy."""

    _: KW_ONLY
    bump: str = "minor"
    draft_on_violation: bool = False
    allowed_data_product_statuses: Optional[tuple[str, ...]] = None
    allow_missing_data_product_status: Optional[bool] = None
    data_product_status_case_insensitive: Optional[bool] = None
    data_product_status_failure_message: Optional[str] = None
    enforce_data_product_status: Optional[bool] = None


@dataclass
class GovernanceReadContext(_Policy):
    """What a governed read names: a contract, or a data-product input binding to take it from."""

    contract: Optional[ContractReference] = None
    input_binding: Optional[DataProductInputBinding] = None
    dataset_id: Optional[str] = None
    dataset_version: Optional[str] = None
    dataset_format: Optional[str] = None
    pipeline_context: Any = None

    def __post_init__(self) -> None:
        self.contract = _reference(self.contract)
        if self.input_binding is not None:
            self.input_binding = DataProductInputBinding.coerce(self.input_binding)


@dataclass
class GovernanceWriteContext(_Policy):
    """What a governed write names: a contract, or a data-product output binding to take it from."""

    contract: Optional[ContractReference] = None
    output_binding: Optional[DataProductOutputBinding] = None
    dataset_id: Optional[str] = None
    dataset_version: Optional[str] = None
    dataset_format: Optional[str] = None
    pipeline_context: Any = None

    def __post_init__(self) -> None:
        self.contract = _reference(self.contract)
        if self.output_binding is not None:
            self.output_binding = DataProductOutputBinding.coerce(self.output_binding)


@dataclass
class _Plan(_Policy):
    contract: Any
    contract_id: str
    contract_version: str
    dataset_id: str
    dataset_version: str
    dataset_format: Optional[str] = None


@dataclass
class ResolvedReadPlan(_Plan):
    """A governed read, resolved: its contract, dataset identifiers and input binding."""

    input_binding: Optional[DataProductInputBinding] = None
    pipeline_context: Optional[Mapping[str, object]] = None


@dataclass
class ResolvedWritePlan(_Plan):
    """A governed write, resolved: its contract, dataset identifiers and output binding."""

    output_binding: Optional[DataProductOutputBinding] = None
    pipeline_context: Optional[Mapping[str, object]] = None


@dataclass
class QualityAssessment:
    """What governance answered about a dataset: its status, the validation and any draft."""

    status: Any
    validation: Any = None
    draft: Any = None
    observations_reused: bool = False


def _options(value: Any) -> Optional[dict[str, str]]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"options must be a mapping of option names to values, got {type(value).__name__}")
    return dict(value)


@dataclass
class GovernanceSparkReadRequest:
    """A governed read: its context, and where and how Spark reads."""

    context: Any
    format: Optional[str] = None
    path: Optional[str] = None
    table: Optional[str] = None
    options: Optional[Mapping[str, str]] = None
    dataset_locator: Any = None
    status_strategy: Any = None
    pipeline_context: Any = None
    publication_mode: Any = None

    def __post_init__(self) -> None:
        self.context = _context(self.context, GovernanceReadContext)
        self.options = _options(self.options)
        if self.publication_mode is not None:
            self.publication_mode = GovernancePublicationMode.from_value(self.publication_mode)
        if self.pipeline_context is not None:
            self.context.pipeline_context = self.pipeline_context


@dataclass
class GovernanceSparkWriteRequest:
    """A governed write: its context, and where and how Spark writes."""

    context: Any
    format: Optional[str] = None
    path: Optional[str] = None
    table: Optional[str] = None
    options: Optional[Mapping[str, str]] = None
    mode: str = "append"
    dataset_locator: Any = None
    pipeline_context: Any = None
    publication_mode: Any = None

    def __post_init__(self) -> None:
        self.context = _context(self.context, GovernanceWriteContext)
        self.options = _options(self.options)
        if self.publication_mode is not None:
            self.publication_mode = GovernancePublicationMode.from_value(self.publication_mode)
        if self.pipeline_context is not None:
            self.context.pipeline_context = self.pipeline_context


def _context(value: Any, kind: type) -> Any:
    if isinstance(value, kind):
        return value
    if isinstance(value, Mapping):
        known = {f for f in kind.__dataclass_fields__}
        unknown = sorted(set(value) - known)
        if unknown:
            raise InvalidArgumentError(f"{kind.__name__} takes no {', '.join(unknown)}; it takes "
                                       f"{', '.join(sorted(known))}")
        return kind(**dict(value))
    raise InvalidArgumentError(f"context must be a {kind.__name__} or a mapping, got {type(value).__name__}")


def request_of(value: Any, kind: type) -> Any:
    """``value`` as a ``kind`` request (one, or a mapping of its fields)."""
    if isinstance(value, kind):
        return value
    if isinstance(value, Mapping):
        return kind(**dict(value))
    raise InvalidArgumentError(f"request must be a {kind.__name__} or a mapping, got {type(value).__name__}")


__all__ = ["ContractReference", "GovernancePublicationMode", "GovernanceReadContext", "GovernanceSparkReadRequest",
           "GovernanceSparkWriteRequest", "GovernanceWriteContext", "PipelineContext", "QualityAssessment",
           "ResolvedReadPlan", "ResolvedWritePlan"]
