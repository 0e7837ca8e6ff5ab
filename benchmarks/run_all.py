#!/usr/bin/env python3
"""Run every benchmark of issue 6, one after the other, each printing its own report::

    .venv/bin/python benchmarks/run_all.py [--runs R] [--no-network] [--no-big]

1. ``bench_resolve.py``: cold and warm resolve against uv (needs the network; ``--no-network`` skips it);
2. and 3. ``bench_ingest.py``: ingest of a 3,000,000-row piwheels log against a bare DuckDB script, then the
   queries and ``explain`` warm on that store;
4. ``bench_spikes.py``: ``depgraph spikes`` over 200,000 packages x 365 days;
5. ``bench_ingest.py --only-big``: peak memory of ingesting 30,000,000 rows (``--no-big`` skips it: it takes
   about 10 minutes, most of them writing the log).

About 20 minutes in all on 2 cores. It exits 1 when a benchmark could not report (a command failed), else 0,
whatever the figures are. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def plan(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    runs = ["--runs", str(args.runs)]
    steps = []
    if not args.no_network:
        steps.append(("1. resolve, cold and warm, against uv", ["bench_resolve.py", *runs]))
    steps.append(("2. and 3. ingest of 3 M rows against DuckDB; explain warm", ["bench_ingest.py", *runs]))
    steps.append(("4. spikes over 200,000 packages x 365 days", ["bench_spikes.py", *runs]))
    if not args.no_big:
        steps.append(("5. ingest of 30 M rows: peak memory", ["bench_ingest.py", "--only-big"]))
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max); default 3")
    parser.add_argument("--no-network", action="store_true", help="skip the resolve benchmark (live index)")
    parser.add_argument("--no-big", action="store_true", help="skip the 30,000,000-row ingest")
    args = parser.parse_args(argv)
    failed = []
    for title, command in plan(args):
        print(f"\n{'=' * 100}\n{title}: {' '.join(command)}\n{'=' * 100}", flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], check=False).returncode
        print(f"({title}: {time.perf_counter() - start:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(title)
    if failed:
        print(f"\nno report from: {'; '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
