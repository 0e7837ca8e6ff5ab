#!/usr/bin/env python3
"""Time ``depgraph ingest`` of a piwheels log against a bare DuckDB script, and measure peak memory.

Run on demand (no network; 3 to 4 minutes, about 12 more with ``--big``); it is not part of the test suite::

    .venv/bin/python benchmarks/bench_ingest.py [--rows N] [--runs R] [--big] [--profile]

It generates a synthetic piwheels ``downloads`` log (gzip CSV, deterministic: same N, same bytes), then times,
in the same run, ``depgraph ingest`` into a fresh store and the anchor (a DuckDB script reading the same file
and counting downloads per filename and day into a table), each a subprocess whose CPU time and peak RSS come
from GNU time; for scale, also a DuckDB script that keeps every row. It prints median, min and max of R runs,
the ratio depgraph/anchor against the goal (≤ 1.5×) and the peak memory of each, checks that the stored and
rejected rows are the expected ones, and times ``depgraph downloads`` and ``depgraph top`` on the store (warm).
``--big`` adds a 30,000,000-row log, ingest only, against the goal peak RSS < 1 GiB (``--only-big``: that
alone); ``--profile`` times every SQL statement of one in-process ingest. It exits 0 whatever the figures are;
1 only when a command fails. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from timing import (
    CommandFailed,
    Outcome,
    Series,
    clean_environment,
    load_average,
    mib,
    print_table,
    run,
    verdict,
)

DEFAULT_ROWS = 3_000_000
BIG_ROWS = 30_000_000
RATIO_GOAL = 1.5  # depgraph ingest / anchor, medians
MEMORY_GOAL = 1 << 30  # peak RSS of depgraph ingest of the big log (issue 6, benchmark 5)
START = date(2019, 12, 1)
DAYS = 100
CLIENTS = 100_000
QUERY_PACKAGE = "flask"
QUERY_FROM = "2020-01-01"
QUERY_TO = "2020-01-31"
TOP_DAY = "2020-02-15"
SPIKE_DAY = "2020-02-20"
SPIKE = (("Flask", 3_000), ("itsdangerous", 1_500))  # (package, extra downloads on SPIKE_DAY)
EXPLAIN_GOAL = 1.0  # seconds, warm (issue 6, benchmark 3)
EXPLAIN_LABEL = f"explain {SPIKE[0][0]} --date {SPIKE_DAY} (spike)"
PIWHEELS_HEADER = ("filename", "accessed_by", "accessed_at", "arch", "distro_name", "distro_version", "os_name",
                   "os_version", "py_name", "py_version", "installer_name", "installer_version", "setuptools_version")
# bytes of free disk per row asked for before starting: the gzip log (~15 a row) and the store (~20) are small, but
# DuckDB may spill a hash join of the whole file to disk (<store>.tmp) when it exceeds the memory limit
DISK_PER_ROW = 400

# (wheel tag, Python major.minor); a client's distro decides which two it runs (DISTROS)
PYTHONS = (("cp27-cp27mu", "2.7"), ("cp35-cp35m", "3.5"), ("cp37-cp37m", "3.7"))
ARCHES = ("armv7l", "armv6l")
VERSIONS_PER_PACKAGE = 4
# Real names people install on a Raspberry Pi (most popular first), then synthetic ones up to PACKAGES
REAL_PACKAGES = ("numpy", "RPi.GPIO", "Pillow", "opencv-python", "PyYAML", "cryptography", "cffi", "psutil",
                 "Flask", "MarkupSafe", "spidev", "smbus", "rpi_ws281x", "Adafruit-DHT", "netifaces", "evdev",
                 "PyAudio", "grpcio", "scipy", "pandas", "matplotlib", "lxml", "simplejson", "wrapt", "pyzmq",
                 "aiohttp", "ujson", "pycryptodome", "bcrypt", "PyNaCl", "requests", "six", "Jinja2", "Werkzeug",
                 "click", "itsdangerous", "paho-mqtt", "gpiozero", "certifi", "urllib3")
PURE = {"Flask", "requests", "six", "Jinja2", "Werkzeug", "click", "itsdangerous", "paho-mqtt", "gpiozero",
        "certifi", "urllib3"}  # py2.py3-none-any wheels
PACKAGES = 120
# (distro, version, the two pythons its users run (index into PYTHONS), the share of the first)
DISTROS = (("Raspbian GNU/Linux", "10", (2, 0), 0.65), ("Raspbian GNU/Linux", "9", (1, 0), 0.55),
           ("Debian GNU/Linux", "10", (2, 2), 1.0), ("Ubuntu", "19.10", (2, 0), 0.8))
DISTRO_SHARES = (55, 85, 93, 100)  # cumulative percent of clients
PYTHON_FULL = {0: ("2.7.16", "2.7.13", "2.7.16", "2.7.17"), 1: ("3.5.3", "3.5.3", "3.5.3", "3.5.3"),
               2: ("3.7.3", "3.7.3", "3.7.3", "3.7.5")}
KERNELS = {"armv7l": ("4.19.75-v7l+", "4.19.97-v7+"), "armv6l": ("4.19.75+", "4.19.97+")}
# Malformed rows, one in every MALFORMED_EVERY, cycling through these kinds: (what, who rejects it)
MALFORMED = (("not a wheel or sdist name", "depgraph"), ("invalid wheel name", "depgraph"),
             ("empty filename", "depgraph"), ("accessed_at not a time", "both"),
             ("5 columns", "both"), ("15 columns", "both"))
MALFORMED_EVERY = 10_000

INGEST_LINE = re.compile(r": (\d+) rows \((\w+)\), (\d+) rejected")

# The anchor: a bare DuckDB script (default settings) reading the log once. ``daily`` counts downloads per
# filename and day into a table (the goal's anchor); ``events`` keeps every row as read, for reference.
ANCHOR = """\
import sys

import duckdb

log, db, mode = sys.argv[1], sys.argv[2], sys.argv[3]
columns = {c: "VARCHAR" for c in ("filename,accessed_by,accessed_at,arch,distro_name,distro_version,os_name,"
                                  "os_version,py_name,py_version,installer_name,installer_version,"
                                  "setuptools_version").split(",")}
columns["accessed_at"] = "TIMESTAMP"
scan = f"read_csv('{log}', header = true, columns = {columns}, ignore_errors = true, compression = 'gzip')"
connection = duckdb.connect(db)
if mode == "daily":
    connection.execute(f"CREATE TABLE daily AS SELECT filename, accessed_at::DATE AS day, count(*) AS downloads "
                       f"FROM {scan} GROUP BY ALL")
    print(connection.execute("SELECT sum(downloads), count(*) FROM daily").fetchone())
elif mode == "dimensions":  # the same count by every column depgraph reads (what its queries can split by)
    connection.execute(f"CREATE TABLE daily AS SELECT filename, accessed_at::DATE AS day, py_name, py_version, arch, "
                       f"os_name, distro_name, distro_version, installer_name, installer_version, "
                       f"count(*) AS downloads FROM {scan} GROUP BY ALL")
    print(connection.execute("SELECT sum(downloads), count(*) FROM daily").fetchone())
else:
    connection.execute(f"CREATE TABLE events AS SELECT * FROM {scan}")
    print(connection.execute("SELECT count(*), count(*) FROM events").fetchone())
connection.close()
"""
ANCHOR_LABEL = "anchor (DuckDB script)"
EVENTS_LABEL = "DuckDB script keeping every row (ref)"
DIMENSIONS_LABEL = "anchor reading the columns depgraph reads (ref)"


@dataclass(frozen=True)
class Log:
    path: Path
    rows: int  # data lines, malformed ones included
    malformed: dict[str, int]  # kind -> lines
    seconds: float  # to generate

    def bad(self, who: str) -> int:
        """Lines that ``who`` (depgraph or anchor) should drop."""
        kinds = {kind for kind, rejecter in MALFORMED if who == "depgraph" or rejecter == "both"}
        return sum(count for kind, count in self.malformed.items() if kind in kinds)


def file_choices() -> tuple[list[str], int]:
    """Every (package, version, python, arch) slot's filename, as a list indexed by slot, and the distinct count.

    Pure packages have one ``py2.py3-none-any`` wheel per version; the others one wheel per python tag and
    arch; every sixth synthetic package's oldest version is an sdist only.
    """
    names = [*REAL_PACKAGES, *(f"rpi-pkg-{k:03d}" for k in range(PACKAGES - len(REAL_PACKAGES)))]
    choices = []
    for k, name in enumerate(names):
        stem = name.replace("-", "_")  # wheel names use _ for -
        pure = name in PURE or (k >= len(REAL_PACKAGES) and k % 3 == 0)
        for v in range(VERSIONS_PER_PACKAGE):
            version = f"{1 + k % 3}.{v}.{k % 5}"
            for tag, _python in PYTHONS:
                for arch in ARCHES:
                    if k >= len(REAL_PACKAGES) and k % 6 == 5 and v == 0:
                        choices.append(f"{name}-{version}.tar.gz")
                    elif pure:
                        choices.append(f"{stem}-{version}-py2.py3-none-any.whl")
                    else:
                        choices.append(f"{stem}-{version}-{tag}-linux_{arch}.whl")
    return choices, len(set(choices))


def _pick(expression: str, values: Sequence[str | float]) -> str:
    """SQL: ``values[expression]`` for a 0-based integer expression (strings quoted, numbers not)."""
    items = ", ".join("'" + v.replace("'", "''") + "'" if isinstance(v, str) else str(v) for v in values)
    return f"[{items}][({expression})::BIGINT + 1]"


def log_sql(rows: int) -> str:
    """One VARCHAR ``line`` per row of a piwheels log (header first), in time order; ``$files`` is file_choices.

    Randomness is ``hash(i, k)`` of the row number (or the client): the same for the same ``rows``. A row picks a
    client (skewed: a few clients fetch a lot), a package (Zipf-like: the first of ``PACKAGES`` most) and a version
    (newer ones more), its Python from the client's distro and its arch from the client; the file is the one
    that fits. Times grow with the row number over ``DAYS`` days, a second's resolution.
    """
    span = DAYS * 86_400
    u = "(hash({}, {}) % 1000003)::DOUBLE / 1000003"
    distro = (f"CASE WHEN hash(c, 3) % 100 < {DISTRO_SHARES[0]} THEN 0 WHEN hash(c, 3) % 100 < {DISTRO_SHARES[1]} "
              f"THEN 1 WHEN hash(c, 3) % 100 < {DISTRO_SHARES[2]} THEN 2 ELSE 3 END")
    first_python = _pick("d", [d[2][0] for d in DISTROS])
    second_python = _pick("d", [d[2][1] for d in DISTROS])
    first_share = _pick("d", [d[3] for d in DISTROS])
    python_full = " ".join(f"WHEN py = {p} THEN {_pick('d', list(PYTHON_FULL[p]))}" for p in PYTHON_FULL)
    kernel = f"CASE WHEN a = 0 THEN {_pick('hash(c, 5) % 2', KERNELS['armv7l'])} " \
             f"ELSE {_pick('hash(c, 5) % 2', KERNELS['armv6l'])} END"
    good = f"""concat_ws(',', $files[slot + 1], address, strftime(ts, '%Y-%m-%d %H:%M:%S'),
        {_pick('a', ARCHES)}, {_pick('d', [d[0] for d in DISTROS])}, {_pick('d', [d[1] for d in DISTROS])},
        'Linux', {kernel}, 'CPython', CASE {python_full} END,
        CASE WHEN hash(c, 8) % 50 = 0 THEN '' ELSE 'pip' END,
        CASE WHEN hash(c, 8) % 50 = 0 THEN '' ELSE {_pick('hash(c, 6) % 3', ('18.1', '19.3.1', '20.0.2'))} END,
        CASE WHEN hash(c, 8) % 50 = 0 THEN '' ELSE {_pick('hash(c, 7) % 3', ('40.8.0', '44.0.0', '45.1.0'))} END)"""
    every = MALFORMED_EVERY
    bad = f"""CASE (i // {every}) % {len(MALFORMED)}
        WHEN 0 THEN replace(line, $files[slot + 1], 'index.html')
        WHEN 1 THEN replace(line, $files[slot + 1], 'numpy-1.18.1-cp37.whl')
        WHEN 2 THEN replace(line, $files[slot + 1], '')
        WHEN 3 THEN replace(line, strftime(ts, '%Y-%m-%d %H:%M:%S'), 'yesterday')
        WHEN 4 THEN array_to_string(string_split(line, ',')[1:5], ',')
        ELSE line || ',extra,column' END"""
    header = ("filename,accessed_by,accessed_at,arch,distro_name,distro_version,os_name,os_version,py_name,"
              "py_version,installer_name,installer_version,setuptools_version")
    return f"""
    SELECT CASE WHEN i < 0 THEN '{header}' WHEN i % {every} = {every // 2} THEN {bad} ELSE line END AS line
    FROM (SELECT *, {good} AS line
      FROM (SELECT *, ((p * {VERSIONS_PER_PACKAGE} + v) * {len(PYTHONS)} + py) * {len(ARCHES)} + a AS slot
        FROM (SELECT *, CASE WHEN random_py < {first_share} THEN {first_python} ELSE {second_python} END::BIGINT AS py
          FROM (SELECT i, c, {distro} AS d, CASE WHEN hash(c, 4) % 100 < 88 THEN 0 ELSE 1 END AS a,
                       floor({PACKAGES} * pow({u.format('i', 1)}, 2))::BIGINT AS p,
                       {VERSIONS_PER_PACKAGE - 1} - floor({VERSIONS_PER_PACKAGE} * pow({u.format('i', 2)}, 2))::BIGINT
                           AS v,
                       {u.format('i', 9)} AS random_py,
                       TIMESTAMP '{START}' + to_seconds(greatest(i, 0) * {span} // {rows}) AS ts,
                       CASE WHEN c % 10 < 3
                            THEN ['192.0.2', '198.51.100', '203.0.113'][c % 3 + 1] || '.' || (1 + (c // 3) % 254)
                            ELSE '2001:db8:' || printf('%x:%x', c // 65536, c % 65536) || '::1' END AS address
                FROM (SELECT i, floor({CLIENTS} * pow({u.format('i', 0)}, 2))::BIGINT AS c
                      FROM range(-1, {rows}) t(i))))))"""


def generate_log(path: Path, rows: int) -> Log:
    """Write the log with DuckDB (a few seconds per million rows) and count its malformed lines by kind."""
    files, distinct = file_choices()
    start = time.perf_counter()
    with duckdb.connect() as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.execute(f"COPY ({log_sql(rows)}) TO '{path}' "
                           "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\t', COMPRESSION gzip)",
                           {"files": files})
    seconds = time.perf_counter() - start
    every = MALFORMED_EVERY
    bad_rows = [i for i in range(every // 2, rows, every)]
    malformed = {kind: sum(1 for i in bad_rows if (i // every) % len(MALFORMED) == n)
                 for n, (kind, _who) in enumerate(MALFORMED)}
    print(f"log: {rows:,} rows ({sum(malformed.values())} malformed), ~{distinct:,} distinct filenames in the "
          f"choice table, {path.stat().st_size / 1e6:.0f} MB gzip, generated in {seconds:.1f} s", flush=True)
    return Log(path, rows, malformed, seconds)


# --- the measurements ----------------------------------------------------------------------------------------

def ingest_command(log: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "depgraph", "ingest", str(log), "--db", str(db)]


def check_ingest(outcome: Outcome, log: Log) -> str:
    """``as expected`` when depgraph stored and rejected exactly the rows it should have, else what differs."""
    match = INGEST_LINE.search(outcome.stderr)
    if not match:
        return f"cannot read depgraph's report: {outcome.stderr.strip()[:200]!r}"
    stored, rejected = int(match.group(1)), int(match.group(3))
    expected = (log.rows - log.bad("depgraph"), log.bad("depgraph"))
    if (stored, rejected) == expected:
        return f"as expected ({stored:,} stored, {rejected} rejected)"
    return f"UNEXPECTED: {stored:,} stored, {rejected} rejected; expected {expected[0]:,} and {expected[1]}"


def check_anchor(outcome: Outcome, log: Log) -> str:
    counted = int(outcome.stdout.strip("()\n ").split(",")[0])
    expected = log.rows - log.bad("anchor")
    return f"as expected ({counted:,} counted)" if counted == expected else \
        f"UNEXPECTED: {counted:,} counted, expected {expected:,}"


def ingest_runs(log: Log, workdir: Path, env: dict[str, str], runs: int, store: Path) -> dict[str, Series]:
    """R runs of depgraph ingest, the anchor and the reference, in turn (depgraph first in odd runs, last in even
    ones); the last store is kept."""
    series = {label: Series(label) for label in ("depgraph ingest", ANCHOR_LABEL, DIMENSIONS_LABEL, EVENTS_LABEL)}
    anchor_script = workdir / "anchor.py"
    anchor_script.write_text(ANCHOR, encoding="utf-8")
    checks: set[str] = set()
    for index in range(runs):
        db = workdir / f"fresh-{index}.duckdb"
        anchor_db = workdir / f"anchor-{index}.duckdb"

        def depgraph_step(db: Path = db) -> None:
            outcome = series["depgraph ingest"].add(run(ingest_command(log.path, db), workdir, env))
            checks.add("depgraph: " + check_ingest(outcome, log))

        def anchor_steps(anchor_db: Path = anchor_db) -> None:
            for label, mode in ((ANCHOR_LABEL, "daily"), (DIMENSIONS_LABEL, "dimensions"), (EVENTS_LABEL, "events")):
                outcome = series[label].add(
                    run([sys.executable, str(anchor_script), str(log.path), str(anchor_db), mode], workdir, env))
                checks.add(f"{label}: " + check_anchor(outcome, log))
                anchor_db.unlink()

        for step in (depgraph_step, anchor_steps) if index % 2 == 0 else (anchor_steps, depgraph_step):
            step()
        print(f"run {index + 1}: " + ", ".join(f"{label} {row.samples[-1]:.2f} s ({mib(row.peaks[-1])})"
                                               for label, row in series.items()), flush=True)
        if index < runs - 1:
            db.unlink()
        if index == runs - 1:
            db.rename(store)
    for check in sorted(checks):
        print(f"  rows {check}")
    return series


def write_spike_log(path: Path) -> Path:
    """A second, small piwheels log: on SPIKE_DAY, Python 2.7 clients fetch the newest Flask and itsdangerous
    wheels (about 7x their usual day in the big log), so that ``explain`` takes its whole spike path."""
    choices, _ = file_choices()
    newest = {name: [f for f in choices if f.startswith(f"{name}-")][-1] for name, _ in SPIKE}
    day = date.fromisoformat(SPIKE_DAY)
    lines = [",".join(PIWHEELS_HEADER)]
    for name, count in SPIKE:
        for i in range(count):
            second = 10 * 3600 + i * 7200 // count
            lines.append(f"{newest[name]},203.0.113.{1 + i % 250},{day} {second // 3600:02d}:{second // 60 % 60:02d}:"
                         f"{second % 60:02d},armv7l,Raspbian GNU/Linux,10,Linux,4.19.97-v7l+,CPython,2.7.16,pip,18.1,"
                         "40.8.0")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def query_runs(store: Path, workdir: Path, env: dict[str, str], runs: int) -> list[Series]:
    """``downloads``, ``top`` and ``explain`` on the ingested store, warm: one untimed run, then R timed."""
    commands = {
        f"downloads {QUERY_PACKAGE} --from {QUERY_FROM} --to {QUERY_TO}":
            ["downloads", QUERY_PACKAGE, "--from", QUERY_FROM, "--to", QUERY_TO, "--format", "json"],
        f"top --date {TOP_DAY}": ["top", "--date", TOP_DAY, "--format", "json"],
        EXPLAIN_LABEL: ["explain", SPIKE[0][0], "--date", SPIKE_DAY, "--format", "json"],
        f"explain {SPIKE[0][0]} --date {TOP_DAY} (no spike)": ["explain", SPIKE[0][0], "--date", TOP_DAY,
                                                              "--format", "json"],
        "python -c pass (floor)": [],
    }
    result = []
    for label, args in commands.items():
        command = [sys.executable, "-m", "depgraph", *args, "--db", str(store)] if args else \
            [sys.executable, "-c", "pass"]
        first = run(command, workdir, env)
        if args and args[0] == "explain" and label == EXPLAIN_LABEL:
            print(f"  explain on the spike day: {_verdict_of(first.stdout)}")
        series = Series(label)
        for _ in range(runs):
            series.add(run(command, workdir, env))
        result.append(series)
    return result


def _verdict_of(output: str) -> str:
    data = json.loads(output)
    downloads = data["downloads"]
    return (f"verdict {data['verdict']}, {downloads['count']} downloads against a baseline of "
            f"{downloads['baseline']}, cluster {data['cluster']}")


def print_explain_goal(series: list[Series]) -> None:
    explain = next(row for row in series if row.label == EXPLAIN_LABEL)
    print(f"\nexplain warm on the spike (median): {explain.spread()}  {verdict(explain.median, EXPLAIN_GOAL)} "
          f"(goal < {EXPLAIN_GOAL:.0f} s, issue 6 benchmark 3)")


def print_ratio(series: dict[str, Series]) -> None:
    depgraph, anchor, events = series["depgraph ingest"], series[ANCHOR_LABEL], series[EVENTS_LABEL]
    ratio = depgraph.median / anchor.median
    print(f"\nratio depgraph/anchor (medians, wall clock): {ratio:.2f}×  {verdict(ratio, RATIO_GOAL)} "
          f"(goal ≤ {RATIO_GOAL}×)")
    if depgraph.cpu_median is not None and anchor.cpu_median:
        print(f"  for comparison, CPU time (user + system, less moved by other work on the machine): "
              f"{depgraph.cpu_median / anchor.cpu_median:.2f}×")
    print(f"  peak RSS: depgraph {mib(depgraph.peak)}, anchor {mib(anchor.peak)} (max of the runs)")
    dimensions = series[DIMENSIONS_LABEL]
    print(f"  for scale, not a goal: depgraph / the same anchor grouping by every column depgraph reads = "
          f"{depgraph.median / dimensions.median:.2f}×; depgraph / a DuckDB script keeping every row = "
          f"{depgraph.median / events.median:.2f}×")


def big_run(workdir: Path, env: dict[str, str], rows: int, runs: int) -> None:
    """Generate the big log, ingest it ``runs`` times into a fresh store, report time and peak RSS; delete all."""
    need = rows * DISK_PER_ROW
    free = shutil.disk_usage(workdir).free
    if free < need:
        print(f"\n--big skipped: {free / 1e9:.0f} GB free in {workdir}, about {need / 1e9:.0f} GB needed")
        return
    print(f"\n--big: {rows:,} rows, ingest only ({free / 1e9:.0f} GB free in {workdir}; {load_average()})",
          flush=True)
    log = generate_log(workdir / "big.csv.gz", rows)
    series = Series("depgraph ingest (big)")
    try:
        for index in range(runs):
            db = workdir / "big.duckdb"
            with DiskWatch(workdir) as disk:
                outcome = series.add(run(ingest_command(log.path, db), workdir, env))
            size = db.stat().st_size
            print(f"run {index + 1}: {outcome.seconds:.1f} s, peak RSS {mib(outcome.peak_rss)}, store "
                  f"{size / 1e9:.2f} GB, work dir at most {disk.peak / 1e9:.1f} GB (log, store, DuckDB's spill "
                  f"files); rows {check_ingest(outcome, log)}; {load_average()}", flush=True)
            db.unlink()
            shutil.rmtree(workdir / "big.duckdb.tmp", ignore_errors=True)
    finally:
        log.path.unlink(missing_ok=True)
    print_table([series])
    peak = max(series.peaks)
    verdict = "PASS" if peak < MEMORY_GOAL else "MISS"
    print(f"peak RSS {mib(peak)} ({peak / MEMORY_GOAL:.2f} GiB)  {verdict} (goal < 1 GiB, issue 6 benchmark 5)")


class DiskWatch:
    """The largest total size of the files under ``root`` while the block runs, sampled every second."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _size(self) -> int:
        total = 0
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.stat(os.path.join(directory, name)).st_size
        return total

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._size())
            self._stop.wait(1.0)

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- profile: where depgraph's ingest spends its time ----------------------------------------------------------

class TimedConnection:
    """A DuckDB connection that times every ``execute``/``executemany`` (DuckDB runs the query inside them) and
    notes this process's peak RSS after each."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._connection = connection
        self.timings: list[tuple[float, int, str]] = []  # seconds, peak RSS so far (bytes), SQL

    def _timed(self, label: str, call: Any, *args: Any) -> duckdb.DuckDBPyConnection:
        start = time.perf_counter()
        result = call(*args)
        self.timings.append((time.perf_counter() - start, peak_rss_self(), label))
        return result

    def execute(self, sql: str, parameters: Any = None) -> duckdb.DuckDBPyConnection:
        if parameters is None:
            return self._timed(sql, self._connection.execute, sql)
        return self._timed(sql, self._connection.execute, sql, parameters)

    def executemany(self, sql: str, parameters: Any = None) -> duckdb.DuckDBPyConnection:
        return self._timed("executemany: " + sql, self._connection.executemany, sql, parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def peak_rss_self() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def profile_ingest(log: Log, workdir: Path) -> None:
    """One ingest in this process with every statement timed: the 8 slowest, and the time outside DuckDB."""
    from depgraph.downloads.ingest import ingest_file
    from depgraph.downloads.store import Store, open_store

    db = workdir / "profile.duckdb"
    before = peak_rss_self()
    with open_store(db) as opened:
        opened.connection.execute("SET enable_progress_bar = false")
        timed = TimedConnection(opened.connection)
        start = time.perf_counter()
        report = ingest_file(Store(opened.path, timed), log.path)  # type: ignore[arg-type]
        total = time.perf_counter() - start
    db.unlink()
    in_sql = sum(seconds for seconds, _, _ in timed.timings)
    print(f"\nprofile: one in-process ingest_file, {total:.2f} s ({report.rows:,} rows): {len(timed.timings)} "
          f"statements {in_sql:.2f} s, outside DuckDB (sniff, sha256 of the file, Python) {total - in_sql:.2f} s")
    print(f"  the 8 slowest, in order, with this process's peak RSS after each (before the ingest: {mib(before)}):")
    slowest = sorted(range(len(timed.timings)), key=lambda i: timed.timings[i][0], reverse=True)[:8]
    for i in sorted(slowest):
        seconds, peak, sql = timed.timings[i]
        text = " ".join(sql.split())
        print(f"  {seconds:6.2f} s {mib(peak):>9}  {text[:140]}{'…' if len(text) > 140 else ''}")


# --- main ----------------------------------------------------------------------------------------------------

def default_run(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> None:
    """The log of ``--rows`` rows: ingest against the anchor, the queries, and the profile if asked."""
    log = generate_log(workdir / "piwheels.csv.gz", args.rows)
    store = workdir / "store.duckdb"
    series = ingest_runs(log, workdir, env, args.runs, store)
    print()
    print_table(list(series.values()))
    print_ratio(series)
    print(f"store after ingest: {store.stat().st_size / 1e6:.0f} MB")

    spike = write_spike_log(workdir / "spike.csv.gz")
    run(ingest_command(spike, store), workdir, env)
    print(f"\nqueries on the ingested store, plus a small spike log of {sum(n for _, n in SPIKE):,} rows on "
          f"{SPIKE_DAY} (warm: one untimed run first)")
    queries = query_runs(store, workdir, env, args.runs)
    print_table(queries)
    print_explain_goal(queries)
    store.unlink()
    if args.profile:
        profile_ingest(log, workdir)
    log.path.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"rows of the log; default {DEFAULT_ROWS:,}")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max); default 3")
    parser.add_argument("--big", action="store_true", help=f"also ingest a {BIG_ROWS:,}-row log: peak RSS < 1 GiB?")
    parser.add_argument("--big-rows", type=int, default=BIG_ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--big-runs", type=int, default=1, help="runs of the big ingest; default 1")
    parser.add_argument("--only-big", action="store_true", help="the big ingest alone (implies --big)")
    parser.add_argument("--profile", action="store_true", help="time each SQL statement of one in-process ingest")
    parser.add_argument("--workdir", type=Path, default=None, help="where the files go (default: a new temp dir)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rows < MALFORMED_EVERY or args.big_runs < 1:
        parser.error(f"--runs and --big-runs must be at least 1, --rows at least {MALFORMED_EVERY:,}")

    workdir = Path(tempfile.mkdtemp(prefix="depgraph-bench-ingest-", dir=args.workdir))
    env = clean_environment()
    try:
        free = shutil.disk_usage(workdir).free
        print("depgraph ingest of a synthetic piwheels log vs a DuckDB script (read_csv + GROUP BY filename, day)")
        runs = f"{args.big_runs} big run(s)" if args.only_big else f"{args.runs} runs"
        print(f"  {runs}; Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
              f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}; "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {load_average()}; work dir {workdir} "
              f"({free / 1e9:.0f} GB free)", flush=True)
        if not args.only_big:
            if free < args.rows * DISK_PER_ROW:
                print(f"bench_ingest: only {free / 1e9:.1f} GB free in {workdir}", file=sys.stderr)
                return 1
            default_run(args, workdir, env)
        if args.big or args.only_big:
            big_run(workdir, env, args.big_rows, args.big_runs)
        print(f"\nat the end: {load_average()} (other work on the machine makes every figure noisier)")
    except CommandFailed as error:
        print(f"bench_ingest: a command failed, nothing to report:\n{error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
