"""Where Spark runs dc43's code: classic (local or a cluster's driver) or Spark Connect.

On classic Spark, ``foreachBatch`` functions and listeners run in the caller's own
process, with the JVM one py4j call away.  On Spark Connect the caller is a client:
``foreachBatch`` functions are pickled and run in a Python process the server starts,
listeners run on a client thread, and there is no ``sparkContext``.
"""

from __future__ import annotations

from typing import Any


def is_connect(session: Any) -> bool:
    """Whether ``session`` is a Spark Connect session."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def tune_batch_session(batch_df: Any, settings: dict[str, str]) -> None:
    """Apply SQL ``settings`` to the session a micro-batch runs in, on classic Spark only.

    There, ``batch_df.sparkSession`` is the streaming query's own clone of the caller's
    session, so the settings stay inside the query.  On Spark Connect it is the caller's
    session itself: changing it would change the user's settings, so nothing is set.
    """
    session = batch_df.sparkSession
    if is_connect(session):
        return
    for key, value in settings.items():
        session.conf.set(key, value)


def parallel_thread(target: Any, session: Any, name: str) -> Any:
    """A thread whose Spark jobs keep the calling thread's job group (classic) or tags (Connect)."""
    from pyspark import InheritableThread

    return InheritableThread(target=target, session=session, name=name)


def in_parallel(work: Any, measure: Any, batch_df: Any) -> tuple[Any, Any]:
    """Run ``work()`` on a second thread (same job group or tags) while ``measure()`` runs here."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised on the batch's thread below
            outcome["error"] = exc

    thread = parallel_thread(run, batch_df.sparkSession, "dc43-beside")
    thread.start()
    try:
        metrics = measure()
    finally:
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], metrics
