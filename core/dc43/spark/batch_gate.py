"""The ``inline`` writer's batch side: judge each micro-batch before any of it is published.

:class:`GateBatch` is the ``foreachBatch`` function.  When the sink's format can stage
(file formats under a path) and the plan has no SQL rules, a batch is measured and staged
in one read: the row-level metrics ride the staged write (``DataFrame.observe``); the
set-level rules read the staged files (or the batch again, beside the staging, when the
format does not store values exactly); the verdict then publishes the staged rows or drops
them.  With a rejection sink one write stages both sinks' rows, routed clean or rejected,
and the rejected rows are staged at the rejection sink while uniqueness is measured.  Keys
checked across micro-batches are looked up beside the staging (no rejection sink: no row is
routed by its key) or read back from the staged rows with their routes; a batch carrying a key
an earlier batch published is staged again, those rows flagged.
Other sinks are measured first and written after the verdict; a format that keys replays
itself (Delta's idempotent writes) gets the query's id as writer id, and what each write
commits (a table version) is kept with the verdict.  Like
:class:`~dc43.spark.batch_side.BatchSide`, it is built from picklable parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from dc43.formats import REJECTED_RULES_COLUMN, DatasetFormat, DatasetTarget, commits
from dc43.spark.batch_side import ONE_JOB, BatchSide
from dc43.spark.checkpoints import query_id
from dc43.spark.topology import in_parallel, tune_batch_session

#: one open file per route and task, instead of sorting the batch by route
ROUTED_WRITES = {"spark.sql.maxConcurrentOutputFileWriters": "16"}


class GateBatch:
    """``foreachBatch`` body of the ``inline`` writer."""

    def __init__(self, side: BatchSide, adapter: DatasetFormat, target: DatasetTarget,
                 rejection: tuple[DatasetFormat, DatasetTarget] | None) -> None:
        self.side = side
        self.adapter = adapter
        self.target = target
        self.rejection = rejection
        self._keyed = False  # whether the targets carry their writer id (once per run)
        self._marks: Any = None  # what the key history found in the batch being written
        self._two_way = False  # whether the batch was staged with one route for its rejected rows
        self._unmarked = False  # whether it was staged before its keys were looked up
        self._rejected: Any = None  # the keys of its rows the rejection sink takes (not kept)

    def __repr__(self) -> str:  # targets hold options, which may hold secrets
        rejected = self.rejection[1].describe() if self.rejection else None
        return f"GateBatch({self.target.describe()}, rejection={rejected})"

    def __call__(self, batch_df: Any, batch_id: int) -> None:
        with self.side.reporting(batch_df, batch_id):
            self.side.link.hold_if_stopping(batch_df.sparkSession)
            tune_batch_session(batch_df, ONE_JOB)
            self._key_replays(batch_df)
            self._rejected = self._marks = None
            keys = self.side.keys
            if keys is not None and (self.rejection is None or self._keys_from_staging):
                batch_df = keys.unmarked(batch_df)  # looked up beside the measuring, or from the staged rows
            else:
                batch_df, self._marks = self.side.mark_keys(batch_df, batch_id)
            if self._stage_in_one_pass(batch_df, batch_id):
                return
            if self.rejection is None:
                self._judge_then_write(batch_df, batch_id)
                return
            if keys is not None and self._marks is None:  # the format declined to stage
                batch_df, self._marks = self.side.mark_keys(batch_df, batch_id)
            self._judge_then_route(batch_df, batch_id)

    # -- measured first, written after the verdict -------------------------
    def _judge_then_write(self, batch_df: Any, batch_id: int) -> None:
        side = self.side
        cache = bool(side.plan.sql_rules)  # else the write re-reads the source: cheaper than a cache
        batch = batch_df.persist() if cache else batch_df
        try:
            metrics = self._beside_keys(batch_df, batch_id, lambda: self._measuring.measure(batch))
            entry = side.judge(batch_df, batch_id, self._counted(metrics))  # raises: nothing written
            if entry["status"] != "idle":
                sink = self.adapter.write_micro_batch(side.spec.sink_frame(batch), self.target, batch_id=batch_id)
                self._committed(batch_df, entry, sink=sink)
        finally:
            if cache:
                batch.unpersist()

    def _judge_then_route(self, batch_df: Any, batch_id: int) -> None:
        from pyspark.sql import functions as F

        from dc43.spark.metrics import FLAGS_COLUMN

        side, plan = self.side, self.side.plan
        # Every predicate is evaluated once: the flags are cached with the aligned columns.
        flagged = plan.flag_frame(batch_df, side.spec.projection(batch_df)).persist()
        try:
            metrics = self._counted(self._measuring.measure_flagged(flagged))
            entry = side.judge(batch_df, batch_id, metrics)  # raises: nothing written
            if entry["status"] == "idle":
                return
            reject_adapter, reject_target = self.rejection
            broken = plan.error_rules(F.col(FLAGS_COLUMN))
            if entry.get("action") == "reroute":
                rerouted = flagged.withColumn(REJECTED_RULES_COLUMN, F.array_union(broken, F.array(F.lit("rerouted"))))
                rejected = reject_adapter.write_micro_batch(rerouted.drop(FLAGS_COLUMN), reject_target,
                                                            batch_id=batch_id)
                self._committed(batch_df, entry, rejected=rejected)
                return
            if not _breaks_routed_rule(entry.get("metrics", {}), side.routed):
                sink = self.adapter.write_micro_batch(flagged.drop(FLAGS_COLUMN), self.target, batch_id=batch_id)
                self._committed(batch_df, entry, sink=sink)
                return
            split = flagged.withColumn(REJECTED_RULES_COLUMN, broken).drop(FLAGS_COLUMN)
            is_rejected = F.size(F.col(REJECTED_RULES_COLUMN)) > 0
            self._keys_rejected(lambda: split.filter(is_rejected), entry)
            rejected = reject_adapter.write_micro_batch(split.filter(is_rejected), reject_target, batch_id=batch_id)
            sink = self.adapter.write_micro_batch(split.filter(~is_rejected).drop(REJECTED_RULES_COLUMN),
                                                  self.target, batch_id=batch_id)
            self._committed(batch_df, entry, sink=sink, rejected=rejected)
        finally:
            flagged.unpersist()

    # -- measured and staged in one read -----------------------------------
    def _can_stage(self) -> bool:
        plan = self.side.plan
        return (not plan.sql_rules and not self.target.table
                and (self.rejection is None or plan.maskable)
                and type(self.adapter).stage_micro_batch is not DatasetFormat.stage_micro_batch)

    def _stages_two_way(self, *, unmarked: bool) -> bool:
        """Whether rejected rows are staged as one route, their rules named again from the staged values.

        Else each combination of broken rules is its own route: more, smaller files.  ``unmarked``:
        the batch's keys are read back once it is staged, so no row is marked by them yet.
        """
        return (self.rejection is not None and self.adapter.stages_exactly
                and self.side.plan.recheckable(unmarked=unmarked))

    def _stage_in_one_pass(self, batch_df: Any, batch_id: int) -> bool:
        """Stage the batch and measure it in the same read, then publish or drop it on the verdict.

        On a format that stages exactly, set-level rules read the staged files (one column, not
        the batch again) while the rejected rows are staged for their sink.  False (nothing
        done) when the sink cannot stage.
        """
        if not self._can_stage():
            return False
        from pyspark.sql import Observation

        from dc43.spark.metrics import MASK_COLUMN, ROUTE_COLUMN

        spec, plan, observation = self.side.spec, self.side.plan, Observation()
        measuring = self._measuring
        exact = self.adapter.stages_exactly
        late = self.side.keys is not None and self._marks is None and self.rejection is not None
        self._unmarked = late
        self._two_way = self._stages_two_way(unmarked=late)
        if self.rejection is None:
            keys, aggregations = plan.row_level
            frame, route = spec.sink_frame(batch_df.observe(observation, *aggregations)), None
        else:
            keys, aggregations = plan.mask_aggregations(MASK_COLUMN)
            masked = batch_df.select(*spec.projection(batch_df), plan.flag_mask().alias(MASK_COLUMN))
            kept = [_quoted(name) for name in masked.columns if name != MASK_COLUMN]
            frame = (masked.observe(observation, *aggregations)
                     .select(*kept, plan.route(MASK_COLUMN, two_way=self._two_way).alias(ROUTE_COLUMN)))
            route = ROUTE_COLUMN
            tune_batch_session(batch_df, ROUTED_WRITES)

        def stage() -> Any:
            return self.adapter.stage_micro_batch(frame, self.target, batch_id=batch_id, route_column=route)

        if measuring.set_level and not exact:  # the set-level rules read the batch again, beside the staging
            staged, set_level = in_parallel(
                batch_df, stage, lambda: self._beside_keys(batch_df, batch_id, lambda: measuring.measure_set_level(batch_df)))
        else:
            staged, set_level = self._beside_keys(batch_df, batch_id, stage), {}
        if staged is None:  # the format declined: measure, then write the batch after the verdict
            return False
        metrics = _observed(observation, keys)
        works: dict[str, Callable[[], Any]] = {}
        if late:  # the staged rows' keys, with their routes
            works["marks"] = lambda: self._keys_staged(staged, batch_id)
        if measuring.set_level and exact:
            works["set_level"] = lambda: measuring.measure_set_level(staged.read(rejected_only=False), aligned=True)
        held: list[Any] = []  # the rejected rows' staging, kept even when measuring fails, to abort it
        if works and self.rejection is not None and _breaks_routed_rule(metrics, self.side.routed):
            works["held"] = lambda: held.append(self._stage_rejected(batch_id, staged))  # meanwhile
        try:
            done = dict(zip(works, in_parallel(batch_df, *works.values()), strict=True)) if works else {}
        except BaseException:
            _abort(staged, *held)
            raise
        set_level = done.get("set_level", set_level)
        if late:
            self._marks = done["marks"]
            if self._marks.seen:  # rows carrying a key an earlier batch published: staged again, flagged
                _abort(staged, *held)
                marked = self.side.keys.marked(batch_df, self._marks, spec.aligned)
                if not self._stage_in_one_pass(marked, batch_id):
                    self._judge_then_route(marked, batch_id)
                return True
        metrics = self._counted(metrics)
        self._publish(batch_df, batch_id, {**metrics, **set_level}, staged, held[0] if held else None)
        return True

    def _publish(self, batch_df: Any, batch_id: int, metrics: Mapping[str, int], staged: Any,
                 rejected: Any) -> None:
        """Judge the batch, then publish its staged rows (rejected ones to the rejection sink) or drop them.

        ``rejected``: the rejected rows already staged for the rejection sink, or None.
        """
        commit = None
        try:
            entry = self.side.judge(batch_df, batch_id, metrics)  # raises: the staged files go
            if entry["status"] == "idle":
                _abort(staged, rejected)
                return
            if self.rejection is not None:
                if entry.get("action") == "reroute":
                    _abort(rejected)
                    adapter, target = self.rejection
                    commit = adapter.write_micro_batch(self._rejected_rows(staged, rerouted=True), target,
                                                       batch_id=batch_id)
                    staged.abort()
                    self._committed(batch_df, entry, rejected=commit)
                    return
                self._keys_rejected(lambda: staged.read(rejected_only=True), entry)
                if rejected is not None:
                    rejected.commit()
                elif _breaks_routed_rule(entry.get("metrics", {}), self.side.routed):
                    adapter, target = self.rejection
                    commit = adapter.write_micro_batch(self._rejected_rows(staged, rerouted=False), target,
                                                       batch_id=batch_id)
        except BaseException:
            _abort(staged, rejected)
            raise
        staged.commit()
        self._committed(batch_df, entry, rejected=commit)

    # -- keys across micro-batches -----------------------------------------
    @property
    def _keys_from_staging(self) -> bool:
        """Under a rejection sink, whether a batch's keys are read back from its staged rows, with the
        route of each (one job instead of two: the lookup before staging and the rejected rows' keys).

        So when the batch stages where values are kept exactly.  A batch where a key was seen before
        is staged again, its rows flagged."""
        return self._can_stage() and self.adapter.stages_exactly

    def _keys_staged(self, staged: Any, batch_id: int) -> Any:
        """The keys of the staged rows, with how many of each the main sink takes (route 0)."""
        from pyspark.sql import functions as F

        from dc43.spark.metrics import ROUTE_COLUMN

        return self.side.keys.look(staged.read(rejected_only=False), batch_id, self.side.plan.aligned_columns,
                                   published=F.col(ROUTE_COLUMN) == 0)

    def _beside_keys(self, batch_df: Any, batch_id: int, work: Callable[[], Any]) -> Any:
        """``work()`` while, on a second thread, the batch's keys are looked up: with no rejection sink
        no row is routed by its key, so a repeat is counted from the keys (:meth:`_counted`)."""
        keys = self.side.keys
        if keys is None or self.rejection is not None:
            return work()
        self._marks, value = in_parallel(batch_df, lambda: keys.look(batch_df, batch_id, self.side.spec.aligned), work)
        return value

    @property
    def _measuring(self) -> Any:
        """The plan the rows are measured by: without the uniqueness rules the key lookup counts."""
        plan = self.side.plan
        return plan.without(plan.keyed_set_level())

    def _counted(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """``metrics`` with what the key lookup counted (:meth:`~dc43.spark.key_history.Marks.counted`)."""
        if self._marks is None:
            return dict(metrics)
        return self._marks.counted(metrics, self.side.plan.keyed_set_level())

    # -- what the writes committed -----------------------------------------
    def _key_replays(self, batch_df: Any) -> None:
        """Once per run: targets whose format keys replays by writer get this query's id, which
        Spark keeps in the checkpoint (a new checkpoint is a new writer, its batch ids start over)."""
        if self._keyed:
            return
        self._keyed = True
        keyed = [getattr(self.adapter, "keys_replays", False),
                 self.rejection is not None and getattr(self.rejection[0], "keys_replays", False)]
        if not any(keyed):
            return
        writer = f"dc43-{query_id(batch_df.sparkSession, self.target.options.get('checkpointLocation'))}"
        if keyed[0]:
            self.target = attrs.evolve(self.target, writer_id=writer)
        if keyed[1]:
            adapter, target = self.rejection
            self.rejection = (adapter, attrs.evolve(target, writer_id=f"{writer}-rejected"))

    def _committed(self, batch_df: Any, entry: Mapping[str, Any], *, sink: Any = None, rejected: Any = None) -> None:
        """Keep the published batch's keys, and with its verdict what its writes committed, where
        their formats say."""
        self.side.keep_keys(self._marks, entry, rejected=self._rejected)
        commit = commits(sink=sink, rejection_sink=rejected)
        if commit:
            self.side.record_commit(batch_df.sparkSession, entry, commit)

    def _keys_rejected(self, rows: Any, entry: Mapping[str, Any]) -> None:
        """Before a batch is published: the keys of its rows the rejection sink takes (``rows()``), so
        that only keys of rows the main sink took are kept."""
        if (self._marks is not None and not self._marks.routed
                and _breaks_routed_rule(entry.get("metrics", {}), self.side.routed)):
            self._rejected = self.side.keys.rejected(rows(), self.side.plan.aligned_columns)

    def _stage_rejected(self, batch_id: int, staged: Any) -> Any:
        """Stage the rows breaking error rules at the rejection sink; None if it cannot stage."""
        adapter, target = self.rejection
        return adapter.stage_micro_batch(self._rejected_rows(staged, rerouted=False), target, batch_id=batch_id)

    def _rejected_rows(self, staged: Any, *, rerouted: bool) -> Any:
        """The staged rows breaking error rules (every row, when ``rerouted``), with the rules they break."""
        from pyspark.sql import functions as F

        from dc43.spark.metrics import ROUTE_COLUMN

        plan = self.side.plan
        rules = plan.aligned_error_rules(unmarked=self._unmarked) if self._two_way else plan.rules_of(ROUTE_COLUMN)
        if rerouted:
            rules = F.array_union(rules, F.array(F.lit("rerouted")))
        rows = staged.read(rejected_only=not rerouted)
        kept = [_quoted(name) for name in rows.columns if name != ROUTE_COLUMN]
        return rows.select(*kept, rules.alias(REJECTED_RULES_COLUMN))


def _abort(*staged: Any) -> None:
    for each in staged:
        if each is not None:
            each.abort()


def _breaks_routed_rule(metrics: Mapping[str, Any], routed: frozenset[str]) -> bool:
    return any(metrics.get(metric) for metric in routed)


def _observed(observation: Any, keys: Sequence[str]) -> dict[str, int]:
    """The observed aggregates, in the order observed, by metric key."""
    from dc43.spark.metrics import measured

    return {key: measured(key, value) for key, value in zip(keys, observation.get.values(), strict=True)}


def _quoted(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")
