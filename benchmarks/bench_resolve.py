#!/usr/bin/env python3
"""Time ``depgraph resolve`` against ``uv pip compile`` on the live index, cold and warm, in one run.

Run on demand (it needs the network and takes a minute or two); it is not part of the test suite::

    .venv/bin/python benchmarks/bench_resolve.py [--runs N]

It prints a table (median, min, max of N runs), the depgraph/uv ratios against the goals (PASS/MISS),
whether both tools pin the same set, and a ``-X importtime`` profile of depgraph's warm path. It exits 0
whatever the ratios are (it is a report); it exits 1 only when a command fails, so there is nothing to
report. See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import timing
from packaging.utils import canonicalize_name
from packaging.version import Version
from timing import CommandFailed, Outcome, Series, clean_environment, load_average, print_table

DEFAULT_REQUIREMENT = "OctoPrint==1.4.0"
DEFAULT_DATE = "2020-03-05"
DEFAULT_PYTHON = "3.7"

# (label, which ratio, largest ratio that passes)
GOALS: tuple[tuple[str, str, float], ...] = (
    ("cold ≤ 1.0× uv", "cold", 1.0),
    ("warm ≤ 0.2× uv (issue 2)", "warm", 0.2),
    ("warm ≤ 0.5× uv (issue 6)", "warm", 0.5),
)

REFERENCES = ("uv warm, offline (ref)", "uv warm, offline, --python this (ref)")

IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S.*)$")

Pins = dict[str, str]


@dataclass
class ImportEntry:
    name: str
    self_us: int
    cumulative_us: int
    depth: int
    parent: ImportEntry | None = None


@dataclass
class Setup:
    """Commands and environment shared by every run."""

    requirement: str
    date: str
    python: str
    workdir: Path
    depgraph: list[str]
    uv: str
    env: dict[str, str]

    @property
    def depgraph_args(self) -> list[str]:
        return ["resolve", self.requirement, "--date", self.date, "--python", self.python, "--format", "json"]

    @property
    def exclude_newer(self) -> str:
        # depgraph's --date D keeps files uploaded up to the end of day D (UTC). uv reads a bare date as
        # "up to the end of that day" in recent versions and "before that day" in older ones, so give it
        # the instant itself: D+1 at 00:00 UTC, the same cutoff in every uv version.
        return f"{date.fromisoformat(self.date) + timedelta(days=1)}T00:00:00Z"

    def uv_compile(self, *extra: str) -> list[str]:
        return [self.uv, "pip", "compile", "requirements.in", "--exclude-newer", self.exclude_newer,
                "--python-version", self.python, "--no-config", *extra]


def run(command: Sequence[str], setup: Setup, extra_env: dict[str, str] | None = None) -> Outcome:
    """Run ``command`` in the work directory, output captured (so stderr is no terminal), and time it."""
    return timing.run(command, setup.workdir, {**setup.env, **(extra_env or {})}, measure=False)


def find_depgraph() -> list[str]:
    """The installed ``depgraph`` entry point next to this interpreter, else ``python -m depgraph``."""
    entry_point = Path(sys.executable).parent / "depgraph"
    return [str(entry_point)] if entry_point.exists() else [sys.executable, "-m", "depgraph"]


def find_uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise CommandFailed("uv not found: install it with `uv pip install -e '.[bench]'` or put it on PATH")
    return found


def depgraph_pins(stdout: str) -> Pins:
    data = json.loads(stdout)
    return {canonicalize_name(p["name"]): str(Version(p["version"])) for p in data["packages"]}


def uv_pins(stdout: str) -> Pins:
    pins: Pins = {}
    for line in stdout.splitlines():
        if not line or line[0] in " #\t-":
            continue
        requirement = line.split(";", 1)[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==", 1)
            pins[canonicalize_name(name.split("[", 1)[0])] = str(Version(version.strip()))
    return pins


def pin_differences(left: Pins, right: Pins, left_name: str, right_name: str) -> list[str]:
    lines = [f"only {left_name}: {n}=={left[n]}" for n in sorted(left.keys() - right.keys())]
    lines += [f"only {right_name}: {n}=={right[n]}" for n in sorted(right.keys() - left.keys())]
    lines += [f"{n}: {left_name} {left[n]}, {right_name} {right[n]}"
              for n in sorted(left.keys() & right.keys()) if left[n] != right[n]]
    return lines


def parse_importtime(stderr: str) -> list[ImportEntry]:
    """``-X importtime`` lines as entries with their importer, in the order Python printed them."""
    entries = []
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            entries.append(ImportEntry(name.strip(), int(self_us), int(cumulative_us), (len(indent) - 1) // 2))
    # Python prints a module when its import ends, so children come before their parent; read backwards.
    stack: list[ImportEntry] = []
    for entry in reversed(entries):
        del stack[entry.depth:]
        entry.parent = stack[-1] if stack else None
        stack.append(entry)
    return entries


def is_depgraph(name: str) -> bool:
    return name == "depgraph" or name.startswith("depgraph.")


def importer_in_depgraph(entry: ImportEntry) -> str:
    """The nearest depgraph module above ``entry``, or where the import chain started."""
    if is_depgraph(entry.name):
        return "(depgraph's own modules)"
    parent = entry.parent
    while parent is not None and not is_depgraph(parent.name):
        parent = parent.parent
    return parent.name if parent else "(interpreter startup: site, .pth files)"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


def print_goals(series: dict[str, Series]) -> None:
    ratios = {kind: series[f"depgraph {kind}"].median / series[f"uv {kind}"].median for kind in ("cold", "warm")}
    print()
    for kind, ratio in ratios.items():
        print(f"ratio depgraph/uv {kind}: {ratio:.2f}× (medians)")
    for label, kind, limit in GOALS:
        print(f"  {'PASS' if ratios[kind] <= limit else 'MISS'}  {label}: {ratios[kind]:.2f}×")
    warm = series["depgraph warm"].median
    references = [(label, series[label].median) for label in REFERENCES if label in series]
    if references:
        print("  for scale, not goals: depgraph warm / " +
              "; / ".join(f"{label.removesuffix(' (ref)')} = {warm / median:.2f}×" for label, median in references))


def print_agreement(depgraph_runs: list[Pins], uv_runs: list[Pins]) -> None:
    print()
    reference = depgraph_runs[0]
    problems = [f"depgraph run {i + 1} differs from run 1" for i, pins in enumerate(depgraph_runs) if pins != reference]
    problems += [f"uv run {i + 1} differs from uv run 1" for i, pins in enumerate(uv_runs) if pins != uv_runs[0]]
    differences = pin_differences(reference, uv_runs[0], "depgraph", "uv")
    if not problems and not differences:
        print(f"pinned sets agree: yes ({len(reference)} packages; every depgraph and uv run, cold and warm)")
        return
    print("pinned sets agree: NO")
    for line in problems + differences:
        print(f"  {line}")


def print_uv_diagnosis(stderr: str) -> None:
    revalidated = stderr.count("Sending revalidation request")
    fresh = stderr.count("Found fresh response")
    built = len(re.findall(r"Preparing metadata for", stderr))
    print(f"\nuv warm, one more run with -v: {revalidated} cached responses revalidated over the network, "
          f"{fresh} used as fresh, {built} sdist metadata builds")
    if revalidated or built:
        print("  a warm uv cache normally needs no request and no build here: if these are not 0, the index's "
              "answers reached uv without usable caching headers (Cache-Control/ETag), and uv warm is "
              "close to uv cold on this machine")


def print_importtime(outcome: Outcome, floor: float) -> None:
    entries = parse_importtime(outcome.stderr)
    total_us = sum(e.self_us for e in entries)
    print(f"\ndepgraph warm under -X importtime: {ms(outcome.seconds).strip()} wall, "
          f"{total_us / 1000:.0f} ms in imports (importtime inflates both), interpreter floor {ms(floor).strip()}")
    print("top 10 cumulative import costs (indent = nesting):")
    for entry in sorted(entries, key=lambda e: e.cumulative_us, reverse=True)[:10]:
        print(f"  {entry.cumulative_us / 1000:7.1f} ms  {'  ' * entry.depth}{entry.name}")

    edges = [e for e in entries if not is_depgraph(e.name) and e.parent is not None and is_depgraph(e.parent.name)]
    print("top 10 imports made directly by a depgraph module (what a lazy import there would save first):")
    for entry in sorted(edges, key=lambda e: e.cumulative_us, reverse=True)[:10]:
        assert entry.parent is not None
        print(f"  {entry.cumulative_us / 1000:7.1f} ms  {entry.parent.name} → {entry.name}")

    by_package: dict[str, int] = defaultdict(int)
    importers: dict[str, str] = {}
    for entry in entries:
        top = entry.name.split(".", 1)[0]
        by_package[top] += entry.self_us
        if entry.parent is None or entry.parent.name.split(".", 1)[0] != top:
            importers.setdefault(top, importer_in_depgraph(entry))
    print("top 10 top-level packages by own import time (first reached through):")
    for top, self_us in sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:10]:
        print(f"  {self_us / 1000:7.1f} ms  {top:<34} ← {importers.get(top, '?')}")


def one_run(index: int, setup: Setup, series: dict[str, Series], depgraph_runs: list[Pins],
            uv_runs: list[Pins], keep: list[Path], diagnoses: list[str] | None) -> None:
    def add(label: str, outcome: Outcome) -> Outcome:
        return series.setdefault(label, Series(label)).add(outcome)

    def depgraph_pair() -> None:
        cache = Path(tempfile.mkdtemp(prefix="depgraph-cache-"))
        env = {"DEPGRAPH_CACHE_DIR": str(cache)}
        cold = add("depgraph cold", run([*setup.depgraph, *setup.depgraph_args], setup, env))
        warm = add("depgraph warm", run([*setup.depgraph, *setup.depgraph_args], setup, env))
        depgraph_runs.extend([depgraph_pins(cold.stdout), depgraph_pins(warm.stdout)])
        keep.append(cache)

    def uv_pair() -> None:
        cold = add("uv cold", run(setup.uv_compile("--no-cache"), setup))
        cache = Path(tempfile.mkdtemp(prefix="uv-cache-"))
        run(setup.uv_compile("--cache-dir", str(cache)), setup)  # fills the cache, not timed
        warm = add("uv warm", run(setup.uv_compile("--cache-dir", str(cache)), setup))
        uv_runs.extend([uv_pins(cold.stdout), uv_pins(warm.stdout)])
        # References only, for scale: no network at all, then no network and no interpreter discovery.
        add("uv warm, offline (ref)", run(setup.uv_compile("--cache-dir", str(cache), "--offline"), setup))
        add("uv warm, offline, --python this (ref)",
            run(setup.uv_compile("--cache-dir", str(cache), "--offline", "--python", sys.executable), setup))
        if diagnoses is not None:
            diagnoses.append(run(setup.uv_compile("--cache-dir", str(cache), "-v"), setup).stderr)
        shutil.rmtree(cache, ignore_errors=True)

    add("python -c pass (floor)", run([sys.executable, "-c", "pass"], setup))
    # Alternate which tool goes first, so a slow minute of the network does not always hit the same one.
    order: list[Callable[[], None]] = [depgraph_pair, uv_pair] if index % 2 == 0 else [uv_pair, depgraph_pair]
    for step in order:
        step()
    print(f"run {index + 1}: depgraph cold {series['depgraph cold'].samples[-1]:.2f} s, "
          f"warm {series['depgraph warm'].samples[-1]:.2f} s; uv cold {series['uv cold'].samples[-1]:.2f} s, "
          f"warm {series['uv warm'].samples[-1]:.2f} s", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max); default 3")
    parser.add_argument("--requirement", default=DEFAULT_REQUIREMENT)
    parser.add_argument("--date", default=DEFAULT_DATE, help="depgraph --date; uv gets the same cutoff")
    parser.add_argument("--python", default=DEFAULT_PYTHON)
    parser.add_argument("--no-diagnose", action="store_true", help="skip the extra verbose uv warm run")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="depgraph-bench-"))
    keep: list[Path] = []
    try:
        (workdir / "requirements.in").write_text(args.requirement + "\n", encoding="utf-8")
        setup = Setup(args.requirement, args.date, args.python, workdir, find_depgraph(), find_uv(),
                      clean_environment(("DEPGRAPH_", "UV_")))
        uv_version = run([setup.uv, "--version"], setup).stdout.strip()
        print(f"depgraph resolve {args.requirement} --date {args.date} --python {args.python} --format json")
        print(f"  vs {uv_version}: pip compile --exclude-newer {setup.exclude_newer} "
              f"--python-version {args.python}")
        print(f"  {args.runs} runs; Python {platform.python_version()}, {os.cpu_count()} cores, "
              f"{platform.system()} {platform.machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
              f"{load_average()}")
        print(f"  depgraph: {' '.join(setup.depgraph)}\n", flush=True)

        series: dict[str, Series] = {}
        depgraph_runs: list[Pins] = []
        uv_runs: list[Pins] = []
        diagnoses: list[str] = []
        for index in range(args.runs):
            last = index == args.runs - 1 and not args.no_diagnose
            one_run(index, setup, series, depgraph_runs, uv_runs, keep, diagnoses if last else None)

        print()
        order = ["python -c pass (floor)", "depgraph cold", "uv cold", "depgraph warm", "uv warm", *REFERENCES]
        print_table([series[label] for label in order], unit="ms")
        print_goals(series)
        print_agreement(depgraph_runs, uv_runs)
        for stderr in diagnoses:
            print_uv_diagnosis(stderr)

        profile = run([sys.executable, "-X", "importtime", "-m", "depgraph", *setup.depgraph_args], setup,
                      {"DEPGRAPH_CACHE_DIR": str(keep[-1])})
        print_importtime(profile, series["python -c pass (floor)"].median)
        print(f"\nat the end: {load_average()} (other work on the machine makes every figure noisier)")
    except CommandFailed as error:
        print(f"bench_resolve: a command failed, nothing to report:\n{error}", file=sys.stderr)
        return 1
    finally:
        for path in [workdir, *keep]:
            shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
