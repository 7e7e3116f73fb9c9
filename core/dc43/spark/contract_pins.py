"""Which contract version a checkpointed stream is judged by, kept across restarts.

A stream restarted on its checkpoint keeps the contract version it started with, even when
its selector (``^1.0``, latest) now picks a newer one: otherwise one sink would hold data
judged by two contracts without a word.  The version is kept beside Spark's own state, in
``<checkpointLocation>/dc43_contract`` (a one-row JSON folder, written and read through
Spark, so it lives wherever the checkpoint does, on every topology).  Passing
``allow_contract_upgrade=True`` moves the stream to the newly selected version; the upgrade
is logged and becomes a warning on the result and in governance.

The pin also names the write that owns the checkpoint (its sink and observation writer): once a
batch was committed there, another write on it is refused, and so is a checkpoint a query that
is not a dc43 write committed batches in (Spark would resume its progress and write nothing).
The pin is written before the queries start; one with no batch committed after it (a start that
was refused or killed) binds nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from dc43.contracts.versions import parse_selector, parse_version
from dc43.errors import InvalidArgumentError

log = logging.getLogger(__name__)

FOLDER = "dc43_contract"
SCHEMA = "contract_id string, contract_version string, owner string"


def _location(checkpoint: str) -> str:
    return f"{checkpoint.rstrip('/')}/{FOLDER}"


def _pin(spark: Any, checkpoint: str) -> Any:
    """The checkpoint's pin row (contract id, version and the write that owns it), or None."""
    from pyspark.errors import AnalysisException

    try:
        rows = spark.read.schema(SCHEMA).json(_location(checkpoint)).collect()
    except AnalysisException as exc:
        if exc.getCondition() == "PATH_NOT_FOUND":
            return None
        raise
    return rows[0] if rows else None


def pin(spark: Any, checkpoint: str, contract: Any, owner: str) -> None:
    """Record that the checkpoint's stream is judged by ``contract`` and written by ``owner``."""
    (spark.createDataFrame([(contract.id, contract.version, owner)], SCHEMA).coalesce(1)
     .write.mode("overwrite").json(_location(checkpoint)))


def owner_of(target: Any, observation_writer: str) -> str:
    """Who a checkpoint belongs to: the sink a write writes and the observation writer writing it."""
    return f"{target.format}:{target.table or target.path or target.dataset_id} ({observation_writer})"


def check_owner(spark: Any, checkpoint: str | None, owner: str, kept: Kept) -> None:
    """Refuse a checkpoint another write owns (another sink, another observation writer) once a
    batch was committed in it, or one a query that is not a dc43 write committed batches in:
    Spark would resume that query's progress and write nothing of this one."""
    if not checkpoint:
        return
    row = kept.pin
    if row is not None:
        if row.owner and row.owner != owner and kept.committed:
            raise InvalidArgumentError(f"checkpoint {checkpoint} belongs to the write to {row.owner}, not to {owner}: "
                                       "give this write a checkpointLocation of its own")
        return
    from dc43.spark.checkpoints import logged_batches

    if logged_batches(spark, checkpoint, "commits"):
        raise InvalidArgumentError(f"checkpoint {checkpoint} holds the progress of a query that is not a dc43 "
                                   f"write: {owner} would resume it and write nothing; give this write a "
                                   "checkpointLocation of its own")


@attrs.frozen
class Kept:
    """The contract a (re)started stream is judged by, and what happened to its version."""

    contract: Any
    #: None (a first start, or the same version); else ``pinned``, ``selected``, ``used``, ``message``
    change: dict[str, Any] | None = None
    #: whether the checkpoint must record ``contract`` (first start, or an upgrade)
    repin: bool = False
    #: the checkpoint's pin row, when it has one, and whether a batch was committed there since
    pin: Any = None
    committed: bool = False


def keep(spark: Any, contracts: Any, contract: Any, *, checkpoint: str | None, selector: str | None,
         allow_inactive: bool, allow_upgrade: bool) -> Kept:
    """The contract to judge a stream by: the checkpoint's, unless the caller allows an upgrade.  A pin
    with no batch committed after it (a start refused, or killed before its first batch) binds nothing."""
    if not checkpoint:
        return Kept(contract)
    from dc43.spark.checkpoints import logged_batches

    row = _pin(spark, checkpoint)
    if row is None:
        return Kept(contract, repin=True)
    if not logged_batches(spark, checkpoint, "commits"):
        return Kept(contract, repin=True, pin=row)
    found = (row.contract_id, row.contract_version)
    if found == (contract.id, contract.version):
        return Kept(contract, pin=row, committed=True)
    pinned_id, pinned_version = found
    change = {"pinned": f"{pinned_id}@{pinned_version}", "selected": f"{contract.id}@{contract.version}"}
    if allow_upgrade:
        message = (f"the stream on checkpoint {checkpoint} was judged by {pinned_id}@{pinned_version}; from this "
                   f"restart on it is judged by {contract.id}@{contract.version} (allow_contract_upgrade=True)")
        log.warning("%s", message)
        return Kept(contract, {**change, "used": change["selected"], "message": message}, repin=True, pin=row,
                    committed=True)
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
    return Kept(kept, {**change, "used": change["pinned"], "message": message}, pin=row, committed=True)
