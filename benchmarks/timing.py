"""What the benchmarks share: timing a command run as a subprocess (wall clock, and CPU time and peak RSS from GNU
time), series of runs with their median and spread, timing a call in this process, and the report's helpers."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GNU_TIME = Path("/usr/bin/time")


class CommandFailed(Exception):
    """A benchmarked command exited non-zero: there is no figure to report."""


@dataclass
class Outcome:
    """One timed run: wall clock seconds, its output, and (with GNU time) CPU seconds and peak RSS in bytes."""

    seconds: float
    stdout: str
    stderr: str
    cpu: float | None = None  # user + system
    peak_rss: int | None = None


@dataclass
class Series:
    """The runs of one row of a report: median, min and max of each measure."""

    label: str
    samples: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)

    def add(self, outcome: Outcome) -> Outcome:
        self.samples.append(outcome.seconds)
        if outcome.cpu is not None:
            self.cpus.append(outcome.cpu)
        if outcome.peak_rss is not None:
            self.peaks.append(outcome.peak_rss)
        return outcome

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None

    @property
    def peak(self) -> int | None:
        return max(self.peaks) if self.peaks else None

    def spread(self, unit: str = "s") -> str:
        """``2.41 s (2.30–2.77)``: the median and the range of the runs."""
        scale, digits = (1000, 0) if unit == "ms" else (1, 2)
        return (f"{self.median * scale:.{digits}f} {unit} ({min(self.samples) * scale:.{digits}f}–"
                f"{max(self.samples) * scale:.{digits}f})")


def run(command: Sequence[str], cwd: Path, env: dict[str, str], *, measure: bool = True) -> Outcome:
    """Run ``command`` with its output captured (so it sees no terminal) and time it, wall clock.

    With ``measure`` and GNU time installed, CPU time and peak RSS come from ``/usr/bin/time -f '%M %U %S'``,
    which forks a fresh child: ``wait4`` on a child of this script would report at least this script's own RSS,
    as Linux carries the parent's high-water mark over ``exec``.
    """
    measured = measure and GNU_TIME.exists()
    with tempfile.TemporaryFile(dir=cwd) as out, tempfile.TemporaryFile(dir=cwd) as err, \
            tempfile.NamedTemporaryFile(dir=cwd, mode="r", suffix=".rss") as rss:
        timed = [str(GNU_TIME), "-f", "%M %U %S", "-o", rss.name, *command] if measured else list(command)
        start = time.perf_counter()
        process = subprocess.run(timed, cwd=cwd, env=env, stdout=out, stderr=err, check=False)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        reported = rss.read().split()
    if process.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise CommandFailed(f"exit {process.returncode}: {' '.join(command)}\n{tail}")
    if measured and len(reported) >= 3:  # the last line: KiB, user seconds, system seconds
        return Outcome(seconds, stdout, stderr, float(reported[-2]) + float(reported[-1]), int(reported[-3]) * 1024)
    return Outcome(seconds, stdout, stderr)


def timed_call(label: str, call: Callable[[], Any], runs: int, *, warm_up: bool = True) -> Series:
    """``call()`` timed ``runs`` times in this process (after one untimed call when ``warm_up``)."""
    if warm_up:
        call()
    series = Series(label)
    for _ in range(runs):
        start = time.perf_counter()
        call()
        series.add(Outcome(time.perf_counter() - start, "", ""))
    return series


def clean_environment(prefixes: tuple[str, ...] = ("DEPGRAPH_",)) -> dict[str, str]:
    """This environment without the variables that would send a tool elsewhere (a ``DEPGRAPH_DB``, a cache)."""
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except (AttributeError, OSError):
        return "load average unknown"
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def mib(size: int | None) -> str:
    return "?" if size is None else f"{size / (1 << 20):.0f} MiB"


def print_table(rows: list[Series], unit: str = "s") -> None:
    """Median, min and max of each row; CPU (median) and peak RSS (max) where they were measured."""
    scale, digits = (1000, 0) if unit == "ms" else (1, 2)
    width = max(len(row.label) for row in rows)
    extra = any(row.cpus or row.peaks for row in rows)

    def cell(seconds: float) -> str:
        return f"{seconds * scale:.{digits}f} {unit}"

    header = f"{'':{width}}  {'median':>10} {'min':>10} {'max':>10}"
    print(header + (f"  {'CPU (median)':>12}  {'peak RSS (max)':>14}" if extra else ""))
    for row in rows:
        line = f"{row.label:{width}}  {cell(row.median):>10} {cell(min(row.samples)):>10} {cell(max(row.samples)):>10}"
        if extra:
            cpu = f"{row.cpu_median:.2f} s" if row.cpu_median is not None else "?"
            line += f"  {cpu:>12}  {mib(row.peak):>14}"
        print(line)


def verdict(value: float, goal: float) -> str:
    return "PASS" if value <= goal else "MISS"
