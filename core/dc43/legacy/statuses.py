"""Status policies of the original API: which contract and data-product statuses a pipeline takes.

A read's ``status_strategy`` and a write's ``violation_strategy`` may carry
``allowed_contract_statuses`` (and the data-product counterparts); a status they
do not allow raises a ``ValueError`` when enforcing and is logged otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Optional, Protocol, runtime_checkable

from dc43.errors import ContractStatusError, ContractViolationError, DataProductError

log = logging.getLogger("dc43_integrations.spark.io")

def _check(raw: Any, fields: dict[str, str], *, enforce: bool, operation: str, allowed: Iterable[str] | None,
           allow_missing: bool, case_insensitive: bool, failure_message: str | None, error: type[Exception],
           fix: str) -> None:
    status = "" if raw is None else str(raw).strip()
    if not status and allow_missing:
        return
    options = tuple(allowed or ("active",))
    fold = str.lower if case_insensitive else str
    if status and fold(status) in {fold(option) for option in options}:
        return
    default = f"{fields['subject']} {{ident}} status {{status!r}} is not allowed for {{operation}} operations"
    message = (failure_message or default).format(status=status, operation=operation, **fields)
    if enforce:
        raise error(message if failure_message else f"{message} (allowed: {', '.join(options)}); {fix}")
    log.warning(message)


def check_contract_status(contract: Any, *, enforce: bool, operation: str, allowed: Iterable[str] | None = None,
                          allow_missing: bool = True, case_insensitive: bool = True,
                          failure_message: str | None = None) -> None:
    """Refuse (``enforce``) or log a contract whose status is not in ``allowed`` (default: active)."""
    fields = {"subject": "Contract", "contract_id": str(contract.id or ""),
              "contract_version": str(contract.version or ""), "ident": f"{contract.id}:{contract.version}"}
    _check(contract.status, fields, enforce=enforce, operation=operation, allowed=allowed,
           allow_missing=allow_missing, case_insensitive=case_insensitive, failure_message=failure_message,
           error=ContractStatusError,
           fix="allow it with allowed_contract_statuses=(...) on the status or violation strategy")


def check_product_status(product: Any, *, enforce: bool, operation: str, allowed: Iterable[str] | None = None,
                         allow_missing: bool = True, case_insensitive: bool = True,
                         failure_message: str | None = None) -> None:
    """Refuse (``enforce``) or log a data product whose status is not in ``allowed`` (default: active)."""
    fields = {"subject": "Data product", "data_product_id": str(product.id or ""),
              "data_product_version": str(product.version or ""), "ident": f"{product.id}@{product.version}"}
    _check(product.status, fields, enforce=enforce, operation=operation, allowed=allowed,
           allow_missing=allow_missing, case_insensitive=case_insensitive, failure_message=failure_message,
           error=DataProductError,
           fix="allow it with allowed_data_product_statuses=(...) on the status or violation strategy")


@runtime_checkable
class SupportsContractStatusValidation(Protocol):
    def validate_contract_status(self, *, contract: Any, enforce: bool, operation: str) -> None: ...


@runtime_checkable
class SupportsDataProductStatusValidation(Protocol):
    def validate_data_product_status(self, *, data_product: Any, enforce: bool, operation: str) -> None: ...


def apply_contract_policy(handler: Any, contract: Any, *, enforce: bool, operation: str) -> None:
    """The handler's own contract-status check, or the default (active only)."""
    if isinstance(handler, SupportsContractStatusValidation):
        handler.validate_contract_status(contract=contract, enforce=enforce, operation=operation)
    else:
        check_contract_status(contract, enforce=enforce, operation=operation)


def apply_product_policy(handler: Any, product: Any, *, enforce: bool, operation: str) -> None:
    """The handler's own data-product-status check, or the default (active only)."""
    if isinstance(handler, SupportsDataProductStatusValidation):
        handler.validate_data_product_status(data_product=product, enforce=enforce, operation=operation)
    else:
        check_product_status(product, enforce=enforce, operation=operation)


@dataclass
class StatusPolicy:
    """The status fields and checks the original's strategies share."""

    allowed_contract_statuses: tuple[str, ...] = ("active",)
    allow_missing_contract_status: bool = True
    contract_status_case_insensitive: bool = True
    contract_status_failure_message: str | None = None
    allowed_data_product_statuses: tuple[str, ...] = ("active",)
    allow_missing_data_product_status: bool = True
    data_product_status_case_insensitive: bool = True
    data_product_status_failure_message: str | None = None

    def validate_contract_status(self, *, contract: Any, enforce: bool, operation: str) -> None:
        check_contract_status(contract, enforce=enforce, operation=operation,
                              allowed=self.allowed_contract_statuses, allow_missing=self.allow_missing_contract_status,
                              case_insensitive=self.contract_status_case_insensitive,
                              failure_message=self.contract_status_failure_message)

    def validate_data_product_status(self, *, data_product: Any, enforce: bool, operation: str) -> None:
        check_product_status(data_product, enforce=enforce, operation=operation,
                             allowed=self.allowed_data_product_statuses,
                             allow_missing=self.allow_missing_data_product_status,
                             case_insensitive=self.data_product_status_case_insensitive,
                             failure_message=self.data_product_status_failure_message)


@dataclass
class ReadStatusContext:
    """What a read-status strategy is told about the read."""

    contract: Optional[Any]
    dataset_id: Optional[str]
    dataset_version: Optional[str]


class ReadStatusStrategy(Protocol):
    """Reacts to a read's status before the DataFrame is returned."""

    def apply(self, *, dataframe: Any, status: Any, enforce: bool,
              context: ReadStatusContext) -> tuple[Any, Any]: ...


@dataclass
class DefaultReadStatusStrategy(StatusPolicy):
    """Active contracts only (by default); a blocking status raises when enforcing."""

    def apply(self, *, dataframe: Any, status: Any, enforce: bool,
              context: ReadStatusContext) -> tuple[Any, Any]:
        if context.contract is not None:
            self.validate_contract_status(contract=context.contract, enforce=enforce, operation="read")
        if enforce and status is not None and status.status == "block":
            raise ContractViolationError(f"DQ status is blocking: {status.reason or status.errors}")
        return dataframe, status
