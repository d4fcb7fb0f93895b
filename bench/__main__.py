"""``python -m bench <benchmark> [options]``: runs ``bench.<benchmark>.main(options)``.

Every benchmark is one module here with a ``main(argv)`` that parses its own options and prints
one line per figure; ``python -m bench <benchmark> --help`` lists them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

BENCHMARKS = {
    "audience": "audience selection: the SQL query on PostgreSQL and the pure rules",
    "sending": "end-to-end sending rate with real workers",
    "unsubscribe": "one-click unsubscribe POSTs against a uvicorn server",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "benchmark",
        choices=sorted(BENCHMARKS),
        help="; ".join(f"{name}: {text}" for name, text in BENCHMARKS.items()),
    )
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the benchmark's own options")
    args = parser.parse_args(argv)
    module = importlib.import_module(f"bench.{args.benchmark}")
    result: Any = module.main(args.options)
    # A benchmark returns its exit status, or its figures (a dict) when it has no verdict.
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
