"""Which contract version a checkpointed stream is judged by, kept across restarts.

A stream restarted on its checkpoint keeps the contract version it started with, even when
its selector (``^1.0``, latest) now picks a newer one: otherwise one sink would hold data
judged by two contracts without a word.  The version is kept beside Spark's own state, in
``<checkpointLocation>/dc43_contract`` (a one-row JSON folder, written and read through
Spark, so it lives wherever the checkpoint does, on every topology).  Passing
``allow_contract_upgrade=True`` moves the stream to the newly selected version; the upgrade
is logged and becomes a warning on the result and in governance.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from dc43.contracts.versions import parse_selector, parse_version
from dc43.errors import InvalidArgumentError

log = logging.getLogger(__name__)

FOLDER = "dc43_contract"
SCHEMA = "contract_id string, contract_version string"


def _location(checkpoint: str) -> str:
    return f"{checkpoint.rstrip('/')}/{FOLDER}"


def pinned(spark: Any, checkpoint: str) -> tuple[str, str] | None:
    """The (contract id, version) the checkpoint's stream was last judged by, if any."""
    from pyspark.errors import AnalysisException

    try:
        rows = spark.read.schema(SCHEMA).json(_location(checkpoint)).collect()
    except AnalysisException as exc:
        if exc.getCondition() == "PATH_NOT_FOUND":
            return None
        raise
    return (rows[0].contract_id, rows[0].contract_version) if rows else None


def pin(spark: Any, checkpoint: str, contract: Any) -> None:
    """Record that the checkpoint's stream is judged by ``contract``."""
    (spark.createDataFrame([(contract.id, contract.version)], SCHEMA).coalesce(1)
     .write.mode("overwrite").json(_location(checkpoint)))


@attrs.frozen
class Kept:
    """The contract a (re)started stream is judged by, and what happened to its version."""

    contract: Any
    #: None (a first start, or the same version); else ``pinned``, ``selected``, ``used``, ``message``
    change: dict[str, Any] | None = None
    #: whether the checkpoint must record ``contract`` (first start, or an upgrade)
    repin: bool = False


def keep(spark: Any, contracts: Any, contract: Any, *, checkpoint: str | None, selector: str | None,
         allow_inactive: bool, allow_upgrade: bool) -> Kept:
    """The contract to judge a stream by: the checkpoint's, unless the caller allows an upgrade."""
    if not checkpoint:
        return Kept(contract)
    found = pinned(spark, checkpoint)
    if found is None:
        return Kept(contract, repin=True)
    if found == (contract.id, contract.version):
        return Kept(contract)
    pinned_id, pinned_version = found
    change = {"pinned": f"{pinned_id}@{pinned_version}", "selected": f"{contract.id}@{contract.version}"}
    if allow_upgrade:
        message = (f"the stream on checkpoint {checkpoint} was judged by {pinned_id}@{pinned_version}; from this "
                   f"restart on it is judged by {contract.id}@{contract.version} (allow_contract_upgrade=True)")
        log.warning("%s", message)
        return Kept(contract, {**change, "used": change["selected"], "message": message}, repin=True)
    if pinned_id != contract.id or not parse_selector(selector).matches(parse_version(pinned_version),
                                                                          include_prerelease=True):
        raise InvalidArgumentError(
            f"the stream on checkpoint {checkpoint} was judged by {pinned_id}@{pinned_version}, which "
            f"contract_id={contract.id!r}, expected_contract_version={selector!r} exclude: pass "
            f"allow_contract_upgrade=True to judge it by {contract.id}@{contract.version} from now on, or start the "
            "stream on a new checkpoint")
    kept = contracts.resolve(contract.id, f"=={pinned_version}", allow_inactive=allow_inactive)
    message = (f"kept {contract.id}@{pinned_version}, which the stream on checkpoint {checkpoint} started with; "
               f"{contract.version} is newer and selected by {selector or 'latest'!r}: pass "
               "allow_contract_upgrade=True to move to it")
    log.info("%s", message)
    return Kept(kept, {**change, "used": change["pinned"], "message": message})
