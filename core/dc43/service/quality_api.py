"""The data-quality service over HTTP: a contract's expectation plan, and the verdict of metrics."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

import attrs
from fastapi import APIRouter

from dc43.contracts.loading import contract_from_dict
from dc43.results import ObservationPayload
from dc43.service import bodies
from dc43.service.state import ServicesDep

router = APIRouter(prefix="/quality", tags=["data quality"])

_KEPT = 64
_parsed: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def _contract(document: dict[str, Any]) -> Any:
    """The contract of ``document``, parsed once per content (every micro-batch sends it again)."""
    key = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()
    with _lock:
        if key in _parsed:
            _parsed.move_to_end(key)
            return _parsed[key]
    contract = contract_from_dict(document, "the request's contract")
    with _lock:
        _parsed[key] = contract
        while len(_parsed) > _KEPT:
            _parsed.popitem(last=False)
    return contract


@router.post("/expectations")
def expectations(s: ServicesDep, body: bodies.Expectations) -> list[dict[str, Any]]:
    """The rules dc43 checks for the contract (its first schema object); a rule written wrongly is a 422."""
    return [attrs.asdict(e) for e in s.quality.describe_expectations(contract=_contract(body.contract))]


@router.post("/evaluate")
def evaluate(s: ServicesDep, body: bodies.Evaluation) -> dict[str, Any]:
    """The verdict of a batch's metrics under the contract: status, errors, warnings, per-rule details."""
    payload = ObservationPayload(metrics=body.payload.metrics, schema=body.payload.schema_, reused=body.payload.reused)
    return attrs.asdict(s.quality.evaluate(contract=_contract(body.contract), payload=payload))
