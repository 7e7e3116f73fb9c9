"""The ``dc43`` command: ``plugins`` (JSON listing), ``demo``, ``validate``, ``report``, ``verdicts``, and the
shared service: ``serve`` and ``migrate``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

VERDICT_COLUMNS = (("batch", "batch_id"), ("version", "dataset_version"), ("status", "status"),
                   ("rows", "row_count"), ("violations", "violations"), ("recorded_at", "recorded_at"),
                   ("reason", "reason"))


def _plugins(args: argparse.Namespace) -> int:
    from dc43.plugins import plugin_listing

    print(json.dumps(plugin_listing(), indent=2))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from dc43.demo import run_demo

    run_demo(batches=args.batches, rows_per_batch=args.rows, remote=args.remote or os.environ.get("SPARK_REMOTE"))
    return 0


def _validate(args: argparse.Namespace) -> int:
    import logging

    from dc43.contracts.check import check_contract, check_file, contract_files, in_store
    from dc43.errors import Dc43Error
    from dc43.settings import Settings

    paths, store, settings = args.paths, None, Settings.load()
    if not paths and not settings.service_url:
        store = settings.contracts_dir
        if not store.is_dir():
            raise Dc43Error(f"no contracts folder at {store} (the settings' contracts_dir, DC43_CONTRACTS_DIR); "
                            "name contract files or folders: dc43 validate PATH ...")
        paths = [store]
    files = contract_files(paths) if paths else []
    spark = _local_spark() if args.spark else None
    loader = logging.getLogger("dc43.contracts.loading")
    level = loader.level
    loader.setLevel(logging.ERROR)  # the warnings it logs are in the output
    try:
        checks = [check_file(path, spark) for path in files]
        if not paths:  # every version the shared service holds, as pipelines will get it
            from dc43.plugins import plugin_service

            contracts = plugin_service("contract", settings)
            checks = [check_contract(contracts.get(contract_id, version), f"{settings.service_url} {contract_id}@{version}",
                                     spark)
                      for contract_id in contracts.list_contracts() for version in contracts.list_versions(contract_id)]
    finally:
        loader.setLevel(level)
    if store is not None:
        checks = [in_store(check, store) for check in checks]
    if args.json:
        print(json.dumps([check.to_dict() for check in checks], indent=2))
    else:
        for check in checks:
            print(_validation_text(check, rules=args.rules))
        invalid = sum(not check.valid for check in checks)
        warnings = sum(len(check.warnings) for check in checks)
        print(f"{len(checks)} file{'' if len(checks) == 1 else 's'}: {len(checks) - invalid} valid, {invalid} invalid, "
              f"{warnings} warning{'' if warnings == 1 else 's'}")
    failed = any(not check.valid or (args.strict and check.warnings) for check in checks)
    return 1 if failed else 0


def _local_spark() -> Any:
    """The session ``validate --spark`` compiles with: the running one, else the Spark Connect server
    ``SPARK_REMOTE`` names, else a small local one."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        from dc43.errors import Dc43Error

        raise Dc43Error("--spark needs pyspark: pip install 'dc43[spark]'") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if os.environ.get("SPARK_REMOTE"):
        return SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
    spark = (SparkSession.builder.master("local[1]").appName("dc43-validate").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _validation_text(check: Any, *, rules: bool) -> str:
    """One file's findings: a headline, each schema object, each error and warning."""
    name = f" {check.contract_id} {check.version}:" if check.contract_id else ""
    lines = [f"{check.source}:{name} {'valid' if check.valid else 'invalid'}"]
    for obj in check.objects:
        streams = f" ({obj.streams_only} on streams only)" if obj.streams_only else ""
        lines.append(f"  {obj.name}: {obj.columns} column{'' if obj.columns == 1 else 's'}, "
                     f"{len(obj.rules)} rule{'' if len(obj.rules) == 1 else 's'}{streams}")
        if rules:
            width = max((len(r["key"]) for r in obj.rules), default=0)
            lines += [f"    {r['severity']:<7} {r['key']:<{width}}  {r['description']}".rstrip() for r in obj.rules]
    if check.frequency_s is not None:
        lines.append(f"  frequency: a batch with rows at least every {check.frequency_s:g} s on streams")
    lines += [f"  error: {error}" for error in check.errors]
    lines += [f"  warning: {warning}" for warning in check.warnings]
    return "\n".join(lines)


def _governance(db: str | None) -> Any:
    """The service to query: ``--db``'s file, else the settings' service (a shared ``dc43 serve`` when
    ``service_url`` is set, else the local database)."""
    from dc43.errors import Dc43Error
    from dc43.governance import LocalGovernanceService
    from dc43.plugins import get_plugin_manager
    from dc43.settings import Settings

    settings = Settings.load()
    path = Path(db) if db else settings.governance_path
    if (db or not settings.service_url) and not path.is_file():
        raise Dc43Error(f"no governance database at {path}: run a pipeline with dc43 (for example "
                        "`dc43 demo`) to create one, pass --db PATH, or set DC43_SERVICE_URL to a dc43 service")
    service = LocalGovernanceService(path) if db else get_plugin_manager().service("governance", settings)
    if not hasattr(service, "verdicts"):
        raise Dc43Error(f"the governance service {service!r} cannot be queried; pass --db PATH")
    return service


def _report(args: argparse.Namespace) -> int:
    from dc43.report import write_report

    service = _governance(args.db)
    path = write_report(service, args.output)
    count = len(service.datasets())
    print(f"wrote {path} ({count} dataset{'' if count == 1 else 's'})")
    return 0


def _table(rows: list[dict[str, Any]]) -> str:
    """Rows as aligned text columns; numbers right-aligned, the last column unpadded."""
    cells = [[h for h, _ in VERDICT_COLUMNS]]
    cells += [["" if r[k] is None else str(r[k]) for _, k in VERDICT_COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(VERDICT_COLUMNS) - 1)]
    numeric = {0, 3, 4}
    lines = [" ".join([c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
                      + [row[-1]]).rstrip() for row in cells]
    return "\n".join(lines)


def _verdicts(args: argparse.Namespace) -> int:
    from dc43.errors import Dc43Error
    from dc43.report import latest_verdicts, open_stale_period

    service = _governance(args.db)
    known = [d["dataset_id"] for d in service.datasets()]
    if args.dataset not in known:
        raise Dc43Error(f"unknown dataset {args.dataset!r}; known datasets: {', '.join(map(repr, known)) or 'none yet'}")
    rows = latest_verdicts(service, args.dataset, args.version, args.limit)
    stale = open_stale_period(service, args.dataset)
    if stale and not args.json:
        print(f"stale since {stale['since']}: no batch with rows for more than {stale['frequency_s']:g} s "
              "(its contract's frequency)")
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(_table(rows))
    else:
        version = f" version {args.version!r}" if args.version else ""
        print(f"no batch verdicts recorded for {args.dataset!r}{version}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    """Bring the service's database to the newest schema, and import what ``--import``/``--contracts`` name."""
    from dc43.service.database import ServiceDatabase

    database = ServiceDatabase(args.database_url)
    print(f"{database.label}: schema {database.revision()}")
    if args.contracts:
        from dc43.service.importing import import_contracts

        print(f"imported {import_contracts(args.contracts, database)} contract versions from {args.contracts}")
    if getattr(args, "import_path", None):
        from dc43.service.importing import import_governance

        counts = import_governance(args.import_path, database)
        print(f"imported from {args.import_path}: " + ", ".join(f"{n} {name.replace('_', ' ')}"
                                                               for name, n in counts.items()))
    database.dispose()
    return 0


def _serve(args: argparse.Namespace) -> int:
    from dc43.service.server import serve

    if args.import_path or args.contracts:
        _migrate(args)
    serve(host=args.host, port=args.port, database_url=args.database_url, workers=args.workers)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dc43", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("plugins", help="list installed plugins as JSON")
    listing.set_defaults(run=_plugins)
    demo = commands.add_parser("demo", help="run the spec's streaming pipeline locally")
    demo.add_argument("--batches", type=_positive, default=6, help="micro-batches to judge (default 6)")
    demo.add_argument("--rows", type=_positive, default=5, help="rows per micro-batch (default 5)")
    demo.add_argument("--remote", metavar="sc://HOST:PORT",
                      help="run on this Spark Connect server (default: $SPARK_REMOTE, else local[2] in-process)")
    demo.set_defaults(run=_demo)
    validate = commands.add_parser("validate", help="check contract files as a write would at start")
    validate.add_argument("paths", nargs="*", metavar="PATH",
                          help="contract files or folders of them (default: every contract of the service "
                               "DC43_SERVICE_URL names, else the settings' contracts folder)")
    validate.add_argument("--rules", action="store_true", help="list every rule dc43 derives")
    validate.add_argument("--spark", action="store_true",
                          help="also compile rule patterns and SQL rules with Spark (local, or $SPARK_REMOTE)")
    validate.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    validate.add_argument("--json", action="store_true", help="print JSON instead of text")
    validate.set_defaults(run=_validate)
    db_help = ("governance database file (default: the service DC43_SERVICE_URL names, else the settings' "
               "governance path, .dc43/governance.db)")
    report = commands.add_parser("report", help="write a self-contained HTML report of the governance database")
    report.add_argument("--output", default="dc43-report.html", help="HTML file to write (default dc43-report.html)")
    report.add_argument("--db", help=db_help)
    report.set_defaults(run=_report)
    verdicts = commands.add_parser("verdicts", help="print the latest batch verdicts of a dataset, newest first")
    verdicts.add_argument("dataset", help="dataset id")
    verdicts.add_argument("--version", help="only this dataset version")
    verdicts.add_argument("--limit", type=_positive, default=20, help="verdicts to print (default 20)")
    verdicts.add_argument("--db", help=db_help)
    verdicts.add_argument("--json", action="store_true", help="print JSON instead of a table")
    verdicts.set_defaults(run=_verdicts)
    url_help = ("database URL: postgresql+psycopg://USER@HOST:PORT/DB or sqlite:///PATH (default: $DC43_DATABASE_URL, "
                "else .dc43/service.db)")
    serve = commands.add_parser("serve", help="run the contract, data-quality and governance services over HTTP, "
                                              "with the web UI at / (tokens: DC43_SERVICE_TOKEN, DC43_VIEWER_TOKEN)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_positive, default=8143, help="port to listen on (default 8143)")
    serve.add_argument("--database-url", help=url_help)
    serve.add_argument("--workers", type=_positive, default=1, help="worker processes (default 1)")
    serve.add_argument("--import", dest="import_path", metavar="PATH",
                       help="first import this local governance database (.dc43/governance.db)")
    serve.add_argument("--contracts", metavar="DIR", help="first publish the contracts of this folder")
    serve.set_defaults(run=_serve)
    migrate = commands.add_parser("migrate", help="bring the service database to the newest schema, importing "
                                                  "a local governance database and contracts")
    migrate.add_argument("--database-url", help=url_help)
    migrate.add_argument("--import", dest="import_path", metavar="PATH",
                         help="a local governance database to import (.dc43/governance.db)")
    migrate.add_argument("--contracts", metavar="DIR", help="a contracts folder to publish")
    migrate.set_defaults(run=_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dc43.errors import Dc43Error

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Dc43Error as exc:
        if getattr(args, "json", False):  # a tool reading the output gets JSON either way
            print(json.dumps({"error": str(exc), "type": type(exc).__name__}, indent=2))
        print(f"dc43: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
