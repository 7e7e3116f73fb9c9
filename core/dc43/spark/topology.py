"""Where Spark runs dc43's code: classic (local or a cluster's driver) or Spark Connect.

On classic Spark, ``foreachBatch`` functions and listeners run in the caller's own
process, with the JVM one py4j call away.  On Spark Connect the caller is a client:
``foreachBatch`` functions are pickled and run in a Python process the server starts,
listeners run on a client thread, and there is no ``sparkContext``.
"""

from __future__ import annotations

from collections.abc import Callable
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


def in_parallel(batch_df: Any, *works: Callable[[], Any]) -> list[Any]:
    """Run ``works`` at once: each but the last on a thread of its own (same job group or tags), the
    last on this one; their values, in order.  The first error is raised once every one has ended."""
    outcomes: list[dict[str, Any]] = [{} for _ in works]

    def runner(n: int) -> Callable[[], None]:
        def run() -> None:
            try:
                outcomes[n]["value"] = works[n]()
            except BaseException as exc:  # re-raised on the batch's thread below
                outcomes[n]["error"] = exc

        return run

    threads = [parallel_thread(runner(n), batch_df.sparkSession, "dc43-beside") for n in range(len(works) - 1)]
    for thread in threads:
        thread.start()
    try:
        runner(len(works) - 1)()
    finally:
        for thread in threads:
            thread.join()
    for outcome in outcomes:
        if "error" in outcome:
            raise outcome["error"]
    return [outcome["value"] for outcome in outcomes]
