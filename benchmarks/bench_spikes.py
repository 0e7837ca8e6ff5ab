#!/usr/bin/env python3
"""Time ``depgraph spikes`` over a registry-sized store (200,000 packages x 365 days) against a bare DuckDB query.

Run on demand (no network; about 2 minutes, most of it building the store); it is not part of the test suite::

    .venv/bin/python benchmarks/bench_spikes.py [--packages N] [--days D] [--runs R] [--profile]

It builds a synthetic store with DuckDB SQL: daily counts (``download_counts``, as ``depgraph bigquery fetch``
stores PyPI's) for every package on every day, each package at its own level (from 1 to 100,000 a day, skewed)
with day-to-day noise, and a few hundred packages spiking on the last day. Then, warm (one untimed run first), it
times ``depgraph spikes --date LAST`` as a subprocess (wall clock, CPU, peak RSS), the library call
``spike_report`` in this process, a 7-day ``--from/--to`` for scale, and the anchor: a bare DuckDB script that
finds the same spikes with one median query over the same table. It prints median, min and max of R runs, PASS or
MISS against the goal (< 2 s) and, with ``--profile``, every SQL statement of one ``spike_report`` timed and the
plan of the slowest. It exits 0 whatever the figures are; 1 only when a command fails. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
from timing import (
    CommandFailed,
    Series,
    clean_environment,
    load_average,
    mib,
    print_table,
    run,
    timed_call,
    verdict,
)

PACKAGES = 200_000
DAYS = 365
FIRST_DAY = date(2019, 3, 7)
SPIKING = 300  # packages given a spike on the last day
GOAL = 2.0  # seconds, warm (issue 6, benchmark 4)
WINDOW = 28  # detect's baseline window, for the anchor

# The anchor: one DuckDB query (default settings, read-only) that finds the packages whose count on DAY is at least
# 3 times and 50 more than the median of their WINDOW days before (days without a row count as 0).
ANCHOR = """\
import sys

import duckdb

db, day, window = sys.argv[1], sys.argv[2], int(sys.argv[3])
connection = duckdb.connect(db, read_only=True)
found = connection.execute('''
    WITH history AS (
        SELECT package, list(downloads) AS counts FROM download_counts
        WHERE day >= $day::DATE - $window AND day < $day::DATE GROUP BY package),
    today AS (SELECT package, downloads FROM download_counts WHERE day = $day::DATE)
    SELECT count(*) FROM (
        SELECT t.package, t.downloads, list_aggregate(list_resize(coalesce(h.counts, []), $window, 0), 'median') AS m
        FROM today t LEFT JOIN history h USING (package))
    WHERE downloads >= 3 * m AND downloads - m >= 50''', {"day": day, "window": window}).fetchone()
print(found[0])
connection.close()
"""


def build_store(path: Path, packages: int, days: int) -> float:
    """The synthetic store, through depgraph's own schema; returns the seconds it took."""
    from depgraph.downloads.daily import rebuild as rebuild_daily_totals
    from depgraph.downloads.store import open_store

    start = time.perf_counter()
    last = days - 1
    level = "pow(10, 5 * pow((hash(p, 1) % 1000003)::DOUBLE / 1000003, 3))"  # skewed: most packages small
    noise = "(0.75 + 0.5 * (hash(p, d) % 1000)::DOUBLE / 1000)"
    spike = f"CASE WHEN d = {last} AND p % {max(packages // SPIKING, 1)} = 7 THEN 12 ELSE 1 END"
    with open_store(path) as store:
        connection = store.connection
        connection.execute("SET memory_limit = '2GB'")
        connection.execute("INSERT INTO ingested_files (sha256, name, format, source, rows, rejected, ingested_at, "
                           "id) VALUES ('synthetic', 'synthetic-counts.csv', 'counts', 'pypi', 0, 0, now(), 1)")
        connection.execute(f"""
            INSERT INTO download_counts
            SELECT 'pypi', DATE '{FIRST_DAY}' + d::INTEGER, 'pkg-' || lpad(p::VARCHAR, 6, '0'), 'total',
                   NULL, NULL, NULL, NULL, NULL, greatest(1, round({level} * {noise} * {spike}))::BIGINT, 'synthetic'
            FROM (SELECT i // {packages} AS d, i % {packages} AS p FROM range({packages * days}) t(i))""")
        connection.execute("UPDATE ingested_files SET rows = (SELECT count(*) FROM download_counts)")
        rebuild_daily_totals(store)  # what an ingest keeps up to date, for rows written by other means
        connection.execute("CHECKPOINT")
    return time.perf_counter() - start


def library_call(store_path: Path, day: date) -> Any:
    """``spike_report`` for one day, with the store opened read-only once (as the CLI does each run)."""
    from depgraph.downloads.store import open_store
    from depgraph.spikes import spike_report

    store = open_store(store_path, read_only=True)
    return store, lambda: spike_report(store, day, day)


def command_runs(store: Path, day: date, workdir: Path, env: dict[str, str], runs: int) -> list[Series]:
    week = [str(day - timedelta(days=6)), str(day)]
    commands = {
        f"depgraph spikes --date {day}": [sys.executable, "-m", "depgraph", "spikes", "--date", str(day),
                                          "--format", "json", "--db", str(store)],
        "anchor (DuckDB median query)": [sys.executable, str(workdir / "anchor.py"), str(store), str(day),
                                         str(WINDOW)],
        f"depgraph spikes --from {week[0]} --to {week[1]} (7 days, ref)": [
            sys.executable, "-m", "depgraph", "spikes", "--from", week[0], "--to", week[1], "--format", "json",
            "--db", str(store)],
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
    }
    result = []
    for label, command in commands.items():
        first = run(command, workdir, env)
        if label.startswith("depgraph spikes --date"):
            print(f"  spikes found: {len(json.loads(first.stdout)['spikes'])}")
        if label.startswith("anchor"):
            print(f"  anchor found: {first.stdout.strip()}")
        series = Series(label)
        for _ in range(runs):
            series.add(run(command, workdir, env))
        result.append(series)
    return result


def profile(store_path: Path, day: date) -> None:
    """Every statement of one spike_report timed, the slowest first."""
    from bench_ingest import TimedConnection

    from depgraph.downloads.store import Store
    from depgraph.spikes import spike_report

    store, _call = library_call(store_path, day)
    timed = TimedConnection(store.connection)
    start = time.perf_counter()
    spike_report(Store(store.path, timed), day, day)  # type: ignore[arg-type]
    total = time.perf_counter() - start
    in_sql = sum(seconds for seconds, _, _ in timed.timings)
    print(f"\nprofile: spike_report {total:.2f} s, {len(timed.timings)} statements {in_sql:.2f} s, "
          f"Python outside DuckDB {total - in_sql:.2f} s; the slowest:")
    for seconds, _peak, sql in sorted(timed.timings, key=lambda t: t[0], reverse=True)[:6]:
        text = " ".join(sql.split())
        print(f"  {seconds:6.2f} s  {text[:150]}{'…' if len(text) > 150 else ''}")
    store.connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--packages", type=int, default=PACKAGES, help=f"default {PACKAGES:,}")
    parser.add_argument("--days", type=int, default=DAYS, help=f"default {DAYS}")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max); default 3")
    parser.add_argument("--profile", action="store_true", help="time each SQL statement of one spike_report")
    parser.add_argument("--workdir", type=Path, default=None, help="where the store goes (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.days < WINDOW + 2 or args.packages < SPIKING:
        parser.error(f"--runs ≥ 1, --days ≥ {WINDOW + 2}, --packages ≥ {SPIKING}")
    workdir = Path(tempfile.mkdtemp(prefix="depgraph-bench-spikes-", dir=args.workdir))
    env = clean_environment()
    try:
        print(f"depgraph spikes over {args.packages:,} packages x {args.days} days of daily counts vs a bare DuckDB "
              f"median query\n  {args.runs} runs; Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
              f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {load_average()}",
              flush=True)
        store = workdir / "registry.duckdb"
        seconds = build_store(store, args.packages, args.days)
        day = FIRST_DAY + timedelta(days=args.days - 1)
        print(f"store: {args.packages * args.days:,} daily counts, {store.stat().st_size / 1e6:.0f} MB, built in "
              f"{seconds:.1f} s; the day: {day}", flush=True)
        (workdir / "anchor.py").write_text(ANCHOR, encoding="utf-8")
        rows = command_runs(store, day, workdir, env, args.runs)
        opened, call = library_call(store, day)
        rows.insert(1, timed_call("spike_report(store, day, day) in this process", call, args.runs))
        opened.connection.close()
        print()
        print_table(rows)
        command, anchor = rows[0], rows[2]
        print(f"\ndepgraph spikes --date (median, warm): {command.spread()}  {verdict(command.median, GOAL)} "
              f"(goal < {GOAL:.0f} s, issue 6 benchmark 4); library call {rows[1].spread()}")
        print(f"  ratio to the anchor: {command.median / anchor.median:.2f}×; peak RSS {mib(command.peak)}")
        if args.profile:
            profile(store, day)
        print(f"\nat the end: {load_average()} (other work on the machine makes every figure noisier)")
    except CommandFailed as error:
        print(f"bench_spikes: a command failed, nothing to report:\n{error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
