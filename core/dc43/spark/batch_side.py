"""What runs beside every micro-batch: measure it, judge it, decide, record, report back.

On classic Spark and a standalone cluster this runs on a driver thread of the caller's
process.  On Spark Connect a ``foreachBatch`` function is pickled when its query starts
and runs in a Python process the server starts, which cannot reach the caller's
objects.  So a :class:`BatchSide` is built from picklable parts only: the plan's spec
(compiled again in the process it lands in), the contract, the dataset's id and version
template, the caller's strategy (a copy there, which keeps its state from batch to
batch) and references to the services (the caller's own objects, or, for those the
plugins provided, the caller's settings to rebuild them there).  What it judged goes
back to the caller through a link (:mod:`dc43.spark.links`).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from dc43.contracts.sla import lags
from dc43.delivery import Attempted, OutagePolicy, Outbox, ServiceUnavailableError, attempt
from dc43.errors import ContractViolationError, Dc43Error, StreamingInterventionError
from dc43.governance.service import BatchVerdict, observation_from
from dc43.locators import epoch_micros, resolve_version, utc_timestamp
from dc43.quality.plan import ROW_COUNT, Expectation, total_violations
from dc43.redaction import redact_text
from dc43.results import ObservationPayload, ValidationResult, observed_columns, rule_results
from dc43.settings import Settings
from dc43.spark.checkpoints import query_id
from dc43.spark.key_history import KeyHistory, Marks
from dc43.spark.links import failure_of, pack_state, verdict_summary
from dc43.spark.topology import in_parallel
from dc43.spark.volume_history import VolumeHistory
from dc43.strategies import InterventionDecision, StreamingInterventionContext

log = logging.getLogger(__name__)


def all_routed(verdict: ValidationResult, routed: frozenset[str]) -> bool:
    """Whether every failing error rule of ``verdict`` is one whose rows a rejection sink takes."""
    if not routed:
        return False
    rules = verdict.details.get("rules") or []
    failing = {r["metric"] for r in rules if r.get("passed") is False and r["severity"] == "error"}
    lenient = {r["metric"] for r in rules if r["severity"] != "error"}  # warnings never block
    failing |= {k for k, v in verdict.metrics.items() if k.startswith("violations.") and v and k not in lenient}
    return failing <= routed


class PlanSpec:
    """What a write's plan is compiled from; picklable, compiled once in each process using it."""

    def __init__(self, expectations: Any, contract: Any, schema: Any, *, auto_cast: bool,
                 skip_distinct: bool = False) -> None:
        self.expectations = tuple(Expectation.coerce(e) for e in expectations)
        self.contract = contract
        self.schema = schema  # the source's StructType, before alignment
        self.auto_cast = auto_cast
        self.skip_distinct = skip_distinct
        self._compiled: tuple[Any, dict[str, Any]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_compiled": None}  # Columns belong to the process that built them

    def _compile(self) -> tuple[Any, dict[str, Any]]:
        if self._compiled is None:
            from dc43.contracts.physical_names import physical_names
            from dc43.spark.metrics import compile_plan
            from dc43.spark.schema import aligned_map, column_types, row_checks

            columns = aligned_map(self.schema, self.contract, self.auto_cast)
            plan = compile_plan(self.expectations, columns=columns,
                                row_checks=row_checks(self.schema, self.contract, self.auto_cast),
                                types=column_types(self.contract), skip_distinct=self.skip_distinct,
                                streaming=True, physical=physical_names(self.contract))
            self._compiled = (plan, columns)
        return self._compiled

    @property
    def plan(self) -> Any:
        """The :class:`~dc43.spark.metrics.CompiledPlan`."""
        return self._compile()[0]

    @property
    def aligned(self) -> dict[str, Any]:
        """Contract column -> its aligned expression (empty when not aligning)."""
        return self._compile()[1]

    @property
    def sink_columns(self) -> list[Any] | None:
        """The projection to the contract's columns, or None to write the source as it is."""
        return list(self.aligned.values()) if self.auto_cast else None

    def sink_frame(self, df: Any) -> Any:
        """``df`` as the sink takes it: aligned, without the key history's marks."""
        from dc43.spark.metrics import SEEN_PREFIX

        columns = self.sink_columns
        if columns is not None:
            return df.select(*columns)
        marks = [c for c in df.columns if c.startswith(SEEN_PREFIX)]
        return df.drop(*marks) if marks else df

    def projection(self, df: Any) -> list[Any]:
        """The aligned columns, or every column of ``df`` but the key history's marks when not aligning."""
        from pyspark.sql import functions as F

        from dc43.spark.metrics import SEEN_PREFIX

        return self.sink_columns or [F.col("`" + c.replace("`", "``") + "`") for c in df.columns
                                     if not c.startswith(SEEN_PREFIX)]


def _class_path(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


class ServiceRef:
    """A service the batch side calls: the caller's object, or one the plugins build from settings.

    An object the caller passed travels with the batch side (pickled on Spark Connect);
    one the plugins provided is rebuilt wherever the batch side runs, by ``rebuild(kind,
    settings)`` (:func:`dc43.plugins.plugin_service`, pickled by reference), and must be of the
    same class as the caller's.
    """

    def __init__(self, kind: str, service: Any, *, settings: Settings,
                 rebuild: Callable[[str, Settings], Any] | None = None) -> None:
        self.kind = kind
        self.settings = settings
        self.rebuild = rebuild
        self.expected = _class_path(service)
        self._service = service

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.rebuild is not None:
            state["_service"] = None
        return state

    def get(self) -> Any:
        if self._service is None:
            found = self.rebuild(self.kind, self.settings)
            if _class_path(found) != self.expected:
                raise Dc43Error(
                    f"the {self.kind.replace('_', '-')} service where micro-batches are judged is "
                    f"{_class_path(found)}, but the caller's is {self.expected}: install the same dc43 "
                    "plugins in the Python the Spark Connect server runs foreachBatch with (PYSPARK_PYTHON)")
            self._service = found
        return self._service


class BatchSide:
    """Judges one write's micro-batches where they run; call it to measure and judge one.

    ``link`` is set by :meth:`dc43.spark.observation.ObservationRequest.batch_side` for the
    topology the write runs on.
    """

    def __init__(self, *, spec: PlanSpec, contract: Any, dataset_id: str, version_template: str,
                 schema: Mapping[str, Any] | None, enforce: bool, strategy: Any, quality: ServiceRef,
                 governance: ServiceRef | None, can_reroute: bool = False,
                 routed: frozenset[str] = frozenset(), link: Any = None,
                 policy: OutagePolicy | None = None, outbox: Outbox | None = None,
                 keys: KeyHistory | None = None, volumes: VolumeHistory | None = None) -> None:
        self.spec = spec
        self.contract = contract
        self.dataset_id = dataset_id
        self.version_template = version_template
        self.schema = schema
        self._columns = observed_columns(schema)  # the schema as payloads carry it, made once
        self.enforce = enforce
        self.strategy = strategy
        self.quality = quality
        self.governance = governance
        self.can_reroute = can_reroute
        #: metrics whose failing rows are routed to a rejection sink: they never block alone
        self.routed = routed
        self.link = link
        self.policy = policy or OutagePolicy()
        #: deliveries that failed, until their service takes them (default: under the settings' state dir)
        self.outbox = outbox or Outbox(quality.settings.outbox_path)
        #: the keys earlier batches published, for the ``unique_across`` rules (None: no such rule)
        self.keys = keys
        #: the row counts of earlier batches, for the volume rules (None: no such rule)
        self.volumes = volumes
        #: whether each batch's message lists its rules (the write has run listeners to tell)
        self.tells_rules = False
        self._reported: BaseException | None = None
        self._backlog = False
        #: the checkpoint of the query calling it, and that query's id (read at its first batch)
        self.checkpoint: str | None = None
        self._query: str | None = None

    def __repr__(self) -> str:
        return f"BatchSide({self.dataset_id!r}, contract={self.contract.id}@{self.contract.version})"

    def linked(self, link: Any, checkpoint: str | None = None) -> BatchSide:
        """A copy of this batch side that reports through ``link``, for the query on ``checkpoint``."""
        copy = object.__new__(BatchSide)
        copy.__dict__.update(self.__dict__, link=link, _reported=None, checkpoint=checkpoint, _query=None,
                             keys=self.keys.at(checkpoint) if self.keys is not None else None,
                             volumes=self.volumes.at(checkpoint) if self.volumes is not None else None)
        return copy

    @property
    def plan(self) -> Any:
        return self.spec.plan

    def use_query(self, query_id: str) -> None:
        """The id of the query judging here, when the caller knows it (a progress event says it)."""
        self._query = query_id

    def query_of(self, session: Any) -> str:
        """The id of the query judging here: its checkpoint's, so a restart replays under the same one
        and another query writing the same dataset keeps verdicts of its own."""
        if self._query is None:
            self._query = query_id(session, self.checkpoint)
        return self._query

    def __call__(self, batch_df: Any, batch_id: int) -> None:
        """``foreachBatch`` body: measure ``batch_df`` in one aggregation and judge it."""
        from dc43.spark.topology import tune_batch_session

        with self.reporting(batch_df, batch_id):
            self.link.hold_if_stopping(batch_df.sparkSession)
            tune_batch_session(batch_df, ONE_JOB)
            marks, metrics = self.measure_beside_keys(batch_df, batch_id)
            self.keep_keys(marks, self.judge(batch_df, batch_id, metrics))

    def measure_beside_keys(self, batch_df: Any, batch_id: int) -> tuple[Marks | None, dict[str, Any]]:
        """The batch's metrics, measured while, on a second thread, its keys are looked up: a row whose
        key an earlier batch published, and the surplus of uniqueness rules on the same key, are
        counted from the keys (:meth:`Marks.counted`), not from the rows."""
        if self.keys is None:
            return None, self.plan.measure(batch_df)
        keys, keyed = self.keys, self.plan.keyed_set_level()
        marks, metrics = in_parallel(batch_df, lambda: keys.look(batch_df, batch_id, self.spec.aligned),
                                     lambda: self.plan.without(keyed).measure(keys.unmarked(batch_df)))
        return marks, marks.counted(metrics, keyed)

    def mark_keys(self, batch_df: Any, batch_id: int) -> tuple[Any, Marks | None]:
        """``batch_df`` with the rows whose key an earlier batch published marked (:mod:`dc43.spark.key_history`)."""
        if self.keys is None:
            return batch_df, None
        return self.keys.mark(batch_df, batch_id, self.spec.aligned)

    def keep_keys(self, marks: Marks | None, entry: Mapping[str, Any], *,
                  rejected: Mapping[str, Any] | None = None) -> None:
        """Keep the keys of a batch that was published (not idle, not rerouted); ``rejected``: the keys
        of its rows a rejection sink took (:meth:`~dc43.spark.key_history.KeyHistory.rejected`)."""
        if marks is not None and entry["status"] != "idle" and entry.get("action") != "reroute":
            self.keys.publish(marks, rejected=rejected)

    def reporting(self, batch_df: Any, batch_id: int) -> _Reporting:
        """A context that tells the caller, and stops the sinks, when the batch fails."""
        return _Reporting(self, batch_df.sparkSession, batch_id)

    def judge(self, batch_df: Any, batch_id: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """Judge one micro-batch from its metrics; raises when the pipeline must stop."""
        return self.judge_in(batch_df.sparkSession, batch_id, metrics)

    def judge_in(self, session: Any, batch_id: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`judge` with the session the link talks through (``None`` in the caller's process)."""
        self._catch_up(session)
        timestamp = utc_timestamp()
        metrics = lags(metrics, epoch_micros(timestamp))  # latency rules: lags at the time of judging
        version = resolve_version(self.version_template, batch_id=batch_id, timestamp=timestamp)
        entry: dict[str, Any] = {
            "batch_id": batch_id, "query_id": self.query_of(session), "timestamp": timestamp, "dataset_version": version,
            "row_count": int(metrics.get(ROW_COUNT, 0)), "violations": total_violations(metrics),
        }
        if self.keys is not None:  # what the key history holds as the batch is judged
            entry["keys_kept"] = self.keys.sizes()
        if entry["row_count"] == 0:
            entry["status"] = "idle"
            self.link.publish(session, {"entry": entry})
            return entry
        if self.volumes is not None:  # volume rules: this batch's rows against earlier ones
            metrics = self.volumes.measure(session, batch_id, metrics, epoch_micros(timestamp))
        entry["metrics"] = dict(metrics)
        judged = self._evaluate(batch_id, metrics)
        if not judged.ok:
            return self._unjudged(session, entry, judged)
        return self._conclude(session, entry, judged.value)

    def _evaluate(self, batch_id: int, metrics: Mapping[str, Any], *, once: bool = False) -> Attempted:
        """The data-quality verdict, with the policy's retries (or its wait) when the service fails."""
        def evaluate() -> ValidationResult:
            return self.quality.get().evaluate(
                contract=self.contract, payload=ObservationPayload(metrics=dict(metrics), schema=self._columns))

        policy = OutagePolicy(retries=1) if once else self.policy
        deadline = time.monotonic() + policy.wait if policy.action == "wait" and not once else None
        return attempt(evaluate, policy, f"judging micro-batch {batch_id} of '{self.dataset_id}'", deadline=deadline)

    def _unjudged(self, session: Any, entry: dict[str, Any], judged: Attempted) -> dict[str, Any]:
        """The data-quality service stayed down: stop (``wait``, ``block``) or judge the batch later."""
        batch_id = entry["batch_id"]
        if self.policy.action != "continue":
            self._halt(session, ServiceUnavailableError(
                f"micro-batch {batch_id} of '{self.dataset_id}' could not be judged: the data-quality service "
                f"failed {judged.attempts} time(s) ({judged.error}); outage_policy={self.policy.action!r} stops "
                "the write (under the inline gate nothing of the batch was published; a restart replays it)"),
                batch_id)
        entry.update(status="unknown", pending=["data_quality"], retries=judged.attempts - 1)
        self.outbox.put("judgement", self.dataset_id, entry["dataset_version"], _item(entry), {"entry": entry},
                        error=judged.error, attempts=judged.attempts)
        self.link.publish(session, {"entry": entry})
        return entry

    def _conclude(self, session: Any, entry: dict[str, Any], verdict: ValidationResult, *,
                  late: bool = False) -> dict[str, Any]:
        """Decide, record and report a judged batch; raises when the pipeline must stop."""
        batch_id, version = entry["batch_id"], entry["dataset_version"]
        entry.update(status=verdict.status)
        entry.pop("pending", None)
        if verdict.errors:
            entry["errors"] = list(verdict.errors)
        if verdict.warnings:
            entry["warnings"] = list(verdict.warnings)
        decision = self._decide(batch_id, verdict, version)
        if decision is not None:
            entry.update(intervention=decision.reason, action=decision.action)
            if decision.action == "warn":
                log.warning("%s", decision.reason)
                verdict.warnings.append(decision.reason)
                entry["warnings"] = list(verdict.warnings)
        self._record(entry, verdict)
        message: dict[str, Any] = {"entry": entry, "verdict": verdict_summary(verdict, rules=self.tells_rules),
                                   "late": late}
        if self.link.carries_state():
            message["strategy"] = pack_state(self.strategy)
        self.link.publish(session, message)
        if decision is not None and decision.action == "block":
            self._halt(session, StreamingInterventionError(decision.reason, batch_id=batch_id), batch_id)
        if entry.get("action") == "reroute":
            return entry  # the rejection sink takes the batch: enforcement is satisfied
        if self.enforce and verdict.status == "block" and not all_routed(verdict, self.routed):
            self._halt(session, ContractViolationError(
                f"micro-batch {batch_id} of '{self.dataset_id}' violates contract "
                f"{self.contract.id}@{self.contract.version}: {'; '.join(verdict.errors)}. "
                "Fix the data, or pass enforce=False to record violations without stopping.",
                verdict,
            ), batch_id)
        return entry

    def record_commit(self, session: Any, entry: Mapping[str, Any], commit: Mapping[str, Any]) -> None:
        """Keep what the judged batch ``entry``'s write committed (``{"sink": {"delta_version": 7}}``)
        with its verdict, behind any delivery that waits in the outbox."""
        batch_id, version = entry["batch_id"], entry["dataset_version"]
        self.link.publish(session, {"committed": {"batch_id": batch_id, "dataset_version": version,
                                                  "commit": dict(commit)}})
        governance = self.governance.get() if self.governance is not None else None
        if governance is None or not hasattr(governance, "record_commit"):
            return
        payload = {"dataset_id": self.dataset_id, "dataset_version": version, "batch_id": batch_id,
                   "commit": dict(commit), "query_id": entry.get("query_id", "")}
        sent = Attempted(attempts=0, error="earlier deliveries wait in the outbox")
        if not self._backlog:
            sent = attempt(lambda: _record_commit(governance, payload), self.policy,
                           f"recording what batch {batch_id} of '{self.dataset_id}' committed")
        if not sent.ok:
            self._backlog = True
            self.outbox.put("commit", self.dataset_id, version, _item(entry), payload, error=sent.error,
                            attempts=sent.attempts)

    def record_lost(self, batch_id: int, reason: str) -> None:
        """Record an ``unknown`` verdict for a batch that was committed but can no longer be judged."""
        entry = {"batch_id": batch_id, "query_id": self.query_of(None), "timestamp": utc_timestamp(), "row_count": 0,
                 "intervention": None, "dataset_version": resolve_version(self.version_template, batch_id=batch_id)}
        self._record(entry, ValidationResult(status="unknown", reason=reason))

    # -- outages -------------------------------------------------------------
    def _catch_up(self, session: Any) -> None:
        """Deliver what earlier batches could not, oldest first; stop at the first that still fails."""
        self._backlog = False
        for kind, key, payload in self.outbox.pending(self.dataset_id, OWN_KINDS):
            if not self._deliver(session, kind, payload):
                self._backlog = True
                return
            self.outbox.done(key)

    def _deliver(self, session: Any, kind: str, payload: dict[str, Any]) -> bool:
        once = OutagePolicy(retries=1)
        if kind == "judgement":
            entry = payload["entry"]
            judged = self._evaluate(entry["batch_id"], entry["metrics"], once=True)
            if judged.ok:
                self._conclude(session, entry, judged.value, late=True)
            return judged.ok
        governance = self.governance.get()
        if kind == "commit":
            return attempt(lambda: _record_commit(governance, payload), once,
                           f"delivering what batch {payload['batch_id']} of '{payload['dataset_id']}' committed").ok
        if kind == "verdict":
            verdict = BatchVerdict(**payload)
            sent = attempt(lambda: governance.record_verdict(verdict), once, f"delivering the verdict of batch "
                           f"{verdict.batch_id} of '{verdict.dataset_id}'")
            if sent.ok:
                self.link.publish(session, {"recorded": {"batch_id": verdict.batch_id,
                                                         "dataset_version": verdict.dataset_version}})
            return sent.ok
        observation = observation_from(payload)
        return attempt(lambda: governance.record_observation(observation), once,
                       f"delivering a schema observation of '{observation.dataset_id}'").ok

    def report(self, session: Any, exc: BaseException, batch_id: int | None) -> None:
        """Tell the caller why the write stops (once per failure), then stop its sinks."""
        if self._reported is exc:
            return
        self._reported = exc
        self.link.fail(session, failure_of(exc, batch_id), exc)
        self.link.stop_sinks(session)

    def _halt(self, session: Any, exc: Exception, batch_id: int) -> None:
        """Stop the pipeline: report why (before the sinks stop, so watchers see it), then raise."""
        self.report(session, exc, batch_id)
        raise exc

    def _decide(self, batch_id: int, verdict: ValidationResult, version: str) -> InterventionDecision | None:
        context = StreamingInterventionContext(
            batch_id=batch_id, validation=verdict, dataset_id=self.dataset_id, dataset_version=version,
        )
        name = type(self.strategy).__name__
        try:
            decision = InterventionDecision.of(self.strategy.decide(context))
        except Exception as exc:  # a broken strategy blocks rather than passing silently
            log.exception("intervention strategy %r failed", self.strategy)
            return InterventionDecision("block", f"intervention strategy {name} raised {type(exc).__name__}: {exc}")
        if decision is not None and decision.action == "reroute" and not self.can_reroute:
            return InterventionDecision("block", f"{decision.reason}; but this observation writer cannot "
                                        "reroute: use observation_writer='inline' with a rejection_sink")
        return decision

    def _record(self, entry: dict[str, Any], verdict: ValidationResult) -> None:
        """Record the verdict in governance, behind any that wait in the outbox; queue it when it fails."""
        if self.governance is None:
            return
        record = BatchVerdict(
            dataset_id=self.dataset_id, dataset_version=entry["dataset_version"], batch_id=entry["batch_id"],
            contract_id=self.contract.id, contract_version=self.contract.version, status=verdict.status,
            row_count=entry["row_count"], metrics=dict(verdict.metrics),
            reason=redact_text(entry.get("intervention") or verdict.reason or "") or None,
            recorded_at=entry["timestamp"], query_id=entry.get("query_id", ""), rules=rule_results(verdict),
        )
        sent = Attempted(attempts=0, error="earlier verdicts wait in the outbox")
        if not self._backlog:  # never before the older ones: delivered in order
            governance = self.governance.get()
            sent = attempt(lambda: governance.record_verdict(record), self.policy,
                           f"recording the verdict of batch {record.batch_id} of '{self.dataset_id}'")
        if not sent.ok:
            self._backlog = True
            self.outbox.put("verdict", record.dataset_id, record.dataset_version, _item(entry),
                            attrs.asdict(record), error=sent.error, attempts=sent.attempts)
            entry["pending"] = ["governance"]
        if sent.attempts > 1:
            entry["retries"] = sent.attempts - 1


#: what the batch side delivers from the outbox (observations come from the caller's side)
OWN_KINDS = ("observation", "judgement", "verdict", "commit")


def _item(entry: Mapping[str, Any]) -> str:
    """What keys a batch's deliveries in the outbox: its query and batch id."""
    return f"{entry.get('query_id', '')}/{entry['batch_id']}"


def _record_commit(governance: Any, payload: Mapping[str, Any]) -> None:
    """``governance.record_commit(**payload)``; without ``query_id`` for a service written before it existed."""
    accepted = inspect.signature(governance.record_commit).parameters
    takes_query = "query_id" in accepted or any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    governance.record_commit(**(payload if takes_query else {k: v for k, v in payload.items() if k != "query_id"}))


#: Adaptive execution runs each shuffle stage of the metric aggregation as a separate Spark
#: job (two for a global aggregation); on a micro-batch that only adds scheduling latency.
ONE_JOB = {"spark.sql.adaptive.enabled": "false"}


class _Reporting:
    """``with side.reporting(batch_df, batch_id):`` reports any failure before it propagates."""

    def __init__(self, side: BatchSide, session: Any, batch_id: int) -> None:
        self.side, self.session, self.batch_id = side, session, batch_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if not isinstance(exc, Exception):
            return False
        interrupted = _interruption(exc)
        if interrupted is not None:  # the query is being stopped: not a failure to report
            raise BatchInterrupted(interrupted) from None
        self.side.report(self.session, exc, self.batch_id)
        return False


class BatchInterrupted(Exception):
    """A micro-batch cut short because its query is being stopped (classic Spark).

    Its text is the one line Spark looks for to tell a stop from a failure: with the whole
    Java stack trace of the interrupted job in it, that check overflows Java's regex stack.
    """


_INTERRUPTIONS = ("java.lang.InterruptedException", "java.nio.channels.ClosedByInterruptException",
                  "java.io.InterruptedIOException")


def _interruption(exc: BaseException) -> str | None:
    """The short form of a py4j error raised because the query's thread was interrupted, else None."""
    if type(exc).__name__ != "Py4JJavaError":
        return None
    text = str(exc)
    found = next((name for name in _INTERRUPTIONS if name in text), None)
    if found is None:
        return None
    call = text.split("\n", 1)[0].removeprefix("An error occurred while calling ")
    return f"py4j.protocol.Py4JJavaError: An error occurred while calling {call}\n: {found}"
