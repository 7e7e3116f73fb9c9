"""The ``dc43`` command: ``plugins`` (JSON listing) and ``demo``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def _plugins(args: argparse.Namespace) -> int:
    from dc43.plugins import plugin_listing

    print(json.dumps(plugin_listing(), indent=2))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from dc43.demo import run_demo

    run_demo(batches=args.batches, rows_per_batch=args.rows)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dc43", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("plugins", help="list installed plugins as JSON")
    listing.set_defaults(run=_plugins)
    demo = commands.add_parser("demo", help="run the spec's streaming pipeline locally")
    demo.add_argument("--batches", type=int, default=6, help="micro-batches to judge (default 6)")
    demo.add_argument("--rows", type=int, default=5, help="rows per micro-batch (default 5)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dc43.errors import Dc43Error

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Dc43Error as exc:
        print(f"dc43: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
