"""How fast the service's pages answer with a long history: 10,000 judged batches of one dataset
(five rules each, some failing), beside 30 other datasets of 300 batches, in a real ``dc43 serve``
on SQLite and on PostgreSQL (when its binaries are installed).

For each page it prints the median, p95 and worst time of a request over HTTP (the page rendered
whole), against the target (300 ms), and beside the JSON API reading the same newest 500 verdicts
the dataset page charts: what a hand-written page over the API would at least cost. Prints only;
asserts nothing.

    nox -s bench_ui                  # 10,000 batches, 30 requests per page
    nox -s bench_ui -- --quick       # 2,000 batches, 10 requests
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the test suite's PostgreSQL and dc43 serve starters

TARGET_MS = 300.0
DATASET = "bench.orders"
START = datetime(2026, 1, 1)
RULES = [("not_null:customer", "customer", "error", "violations.not_null:customer"),
         ("ge:amount", "amount", "warning", "violations.ge:amount"),
         ("enum:currency", "currency", "warning", "violations.enum:currency"),
         ("unique:order_id", "order_id", "error", "violations.unique:order_id"),
         ("row_count:min", None, "error", "metrics.row_count")]


def verdict(dataset: str, batch_id: int) -> object:
    from dc43.governance import BatchVerdict

    rules = []
    for index, (key, column, severity, metric) in enumerate(RULES):
        broken = (batch_id * (index + 3)) % 17 if metric.startswith("violations.") and batch_id % (index + 2) == 0 else 0
        value = broken if metric.startswith("violations.") else 2000
        rules.append({"key": key, "rule": key.split(":")[0], "column": column, "severity": severity, "metric": metric,
                      "passed": not broken, "violations": value})
    metrics = {"row_count": 2000, **{r["metric"]: r["violations"] for r in rules if r["metric"].startswith("violations.")}}
    status = "block" if any(not r["passed"] and r["severity"] == "error" for r in rules) else (
        "warn" if any(not r["passed"] for r in rules) else "ok")
    return BatchVerdict(dataset_id=dataset, dataset_version=str(batch_id), batch_id=batch_id, contract_id="bench.orders",
                        contract_version="1.0.0", status=status, row_count=2000, metrics=metrics, reason=None,
                        recorded_at=(START + timedelta(seconds=batch_id)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        query_id="bench-query", rules=tuple(rules))


def fill(url: str, batches: int, others: int, other_batches: int) -> float:
    """Record the history through the service's own store (the path the API takes); seconds it took."""
    from dc43.service.database import ServiceDatabase
    from dc43.service.governance_store import SQLGovernanceStore

    database = ServiceDatabase(url)
    store = SQLGovernanceStore(database)
    started = time.perf_counter()
    for batch_id in range(batches):
        store.record_verdict(verdict(DATASET, batch_id))
    for n in range(others):
        for batch_id in range(other_batches):
            store.record_verdict(verdict(f"bench.other_{n:02d}", batch_id))
    database.dispose()
    return time.perf_counter() - started


def timed(client: httpx.Client, path: str, requests: int) -> list[float]:
    client.get(path).raise_for_status()  # warm: templates compiled, connections open
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return times


def measure(name: str, url: str, args: argparse.Namespace, folder: Path) -> None:
    from tests.service_process import ServeProcess

    seconds = fill(url, args.batches, args.others, args.other_batches)
    total = args.batches + args.others * args.other_batches
    print(f"\n== {name}: {total:,} verdicts recorded in {seconds:.1f} s ({total / seconds:,.0f}/s)")
    service = ServeProcess(url, folder).start()
    try:
        headers = {"Authorization": f"Bearer {service.token}"}
        offset = max(args.batches - 500, 0)
        pages = [("overview /", "/"),
                 (f"dataset page ({args.batches:,} batches)", f"/datasets/{DATASET}"),
                 ("dataset page, one rule picked", f"/datasets/{DATASET}?rule=ge:amount"),
                 ("dataset live part (?fragment=1)", f"/datasets/{DATASET}?fragment=1"),
                 ("live stamp", f"/ui/stamp?dataset={DATASET}"),
                 ("API: the newest 500 verdicts", f"/api/governance/verdicts?dataset_id={DATASET}&limit=500&offset={offset}")]
        with httpx.Client(base_url=service.url, headers=headers, timeout=60) as client:
            results = {label: timed(client, path, args.requests) for label, path in pages}
        api = statistics.median(results[pages[-1][0]])
        print(f"{'page':<42}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'/ API':>8}  target {TARGET_MS:.0f} ms")
        for label, times in results.items():
            p50, p95 = statistics.median(times), sorted(times)[math.ceil(0.95 * len(times)) - 1]
            verdict_text = "" if label.startswith(("API", "live")) else ("PASS" if p95 < TARGET_MS else "MISS")
            print(f"{label:<42}{p50:>9.1f}{p95:>9.1f}{max(times):>9.1f}{p50 / api:>7.2f}x  {verdict_text}")
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 batches, 10 requests per page")
    parser.add_argument("--workdir", type=Path, default=None, help="where the SQLite database and logs go")
    args = parser.parse_args()
    args.batches, args.requests = (2000, 10) if args.quick else (10_000, 30)
    args.others, args.other_batches = 30, 300 if not args.quick else 50
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="dc43-bench-ui-"))
    folder.mkdir(parents=True, exist_ok=True)
    measure("SQLite (the embedded default)", f"sqlite:///{folder / 'sqlite' / 'service.db'}", args, folder / "sqlite")
    from tests.postgres_server import PostgresServer, postgres_available

    problem = postgres_available()
    if problem:
        print(f"\nPostgreSQL skipped: {problem}")
        return
    with PostgresServer() as server:
        measure("PostgreSQL 15", server.url, args, folder / "postgresql")


if __name__ == "__main__":
    main()
