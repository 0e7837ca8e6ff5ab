"""A reconstructed download log: simulated Raspberry Pi installs written as piwheels' ``downloads`` table.

:func:`generate` reads a scenario (a JSON data file: the period, the client population, the packages users
install with their recorded dependency closures, the daily calibration targets, fixed counts, and an
optional event: a dependent release whose users upgrade in place and fetch only its re-pinned packages)
and writes a gzip CSV in piwheels' format, streamed one day at a time.

How a day is built. Its total comes from the scenario: a pinned figure, or a smooth curve (anchors,
weekly rhythm, seeded noise) kept inside the published bounds. Install sessions follow until the day's
rows are placed: one client (an address from the documentation ranges, one user agent), one package it
installs, and those of its dependencies that are not installed yet and that pip would take from piwheels
(a file PyPI has no usable wheel for; everything piwheels has, for a client using it as its index).
Fixed counts (``quotas``) are met by construction: a package that has reached its count is treated as
installed, one that falls short is installed on its own at the end; the last session is cut so the day's
total is exact. Event sessions fetch the re-pinned packages only. Times follow a daily bell curve by hour.
Same scenario and seed, same bytes.
"""

from __future__ import annotations

import bisect
import gzip
import json
import math
import os
import random
import struct
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from operator import itemgetter
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from depgraph.errors import BadInput

HEADER = ("filename,accessed_by,accessed_at,arch,distro_name,distro_version,os_name,os_version,py_name,"
          "py_version,installer_name,installer_version,setuptools_version\n")
DAY_SECONDS = 86_400
DOC_NETS_V4 = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737 documentation ranges
DOC_NET_V6 = "2001:db8"  # RFC 3849 documentation prefix
MODES = ("extra", "index")  # piwheels as pip's extra index (Raspbian's default), or as its only index
MAX_IDLE_SESSIONS = 1_000_000
COMPRESSION = 3  # gzip level: near level 6's size at a third of its time
MAX_WORKERS = 2
DAYS_PER_WORKER = 8  # with fewer days than this per worker, this process builds them (a worker costs)
CLOCK = tuple(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))


@dataclass(frozen=True)
class GenerationReport:
    """What :func:`generate` wrote."""

    path: Path
    seed: int
    start: date
    end: date
    rows: int
    daily: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "seed": self.seed, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "rows": self.rows, "daily": self.daily}


@dataclass(frozen=True)
class Client:
    """One user agent: the row's fields after ``accessed_at``, and what decides which files it gets."""

    suffix: str
    python: str
    arch: str


@dataclass
class Quota:
    """A fixed count of downloads of a set of packages on one day; ``fill``: install | event."""

    packages: frozenset[str]
    limit: int
    fill: str
    count: int = 0

    @property
    def deficit(self) -> int:
        return self.limit - self.count


@dataclass(frozen=True)
class DayPlan:
    day: date
    total: int
    quotas: tuple[tuple[frozenset[str], int, str], ...]
    others_cap: int | None
    event_rows: int
    event_from: int | None  # the second of the day the event starts; None when no event that day


@dataclass
class Weighted:
    """Items with cumulative weights, drawn with one random number."""

    items: list[Any]
    cumulative: list[float]

    @classmethod
    def of(cls, pairs: Iterable[tuple[Any, float]]) -> Weighted:
        items, cumulative, total = [], [], 0.0
        for item, weight in pairs:
            if weight > 0:
                total += weight
                items.append(item)
                cumulative.append(total)
        if not items:
            raise BadInput("a scenario weight table is empty", "give at least one positive weight")
        return cls(items, cumulative)

    def pairs(self) -> Iterator[tuple[Any, float]]:
        """The items with their own weights."""
        previous = 0.0
        for item, cumulative in zip(self.items, self.cumulative, strict=True):
            yield item, cumulative - previous
            previous = cumulative

    def draw(self, rng: random.Random) -> Any:
        index = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        return self.items[min(index, len(self.items) - 1)]


# ---------------------------------------------------------------- scenario


def load_scenario(path: Path) -> dict[str, Any]:
    """The scenario with its closures file (a path relative to the scenario) loaded under ``_closures``."""
    try:
        scenario = json.loads(path.read_text())
        closures_path = path.parent / scenario["closures"]
        scenario["_closures"] = json.loads(closures_path.read_text())
    except (OSError, ValueError, KeyError) as exc:
        raise BadInput(f"cannot read the scenario {path}: {exc}", "give a scenario.json with its closures") from exc
    return scenario


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _days(start: date, end: date) -> Iterator[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


# ---------------------------------------------------------------- daily totals


def _anchor_level(anchors: list[tuple[date, float]], day: date) -> float:
    """The anchors' level on ``day``, linear between them and flat beyond."""
    if day <= anchors[0][0]:
        return anchors[0][1]
    for (d0, v0), (d1, v1) in pairwise(anchors):
        if day <= d1:
            return v0 + (v1 - v0) * (day - d0).days / (d1 - d0).days
    return anchors[-1][1]


def _bounded(spec: dict[str, Any], day: date, value: int) -> int:
    """Keep a day's usual total strictly inside every bound that covers it (pinned days set the extremes)."""
    for bound in spec.get("bounds", []):
        if not _day(bound["from"]) <= day <= _day(bound["to"]) or day.isoformat() in bound.get("except", []):
            continue
        if "min" in bound:
            value = max(value, bound["min"] + 1)
        if "max" in bound:
            value = min(value, bound["max"] - 1)
    return value


def curve(spec: dict[str, Any], day: date, seed: int) -> int:
    """The day's usual total: anchors, weekly rhythm and seeded noise, inside the bounds."""
    anchors = sorted((_day(d), float(v)) for d, v in spec["anchors"].items())
    noise = random.Random(f"{seed}:curve:{day.isoformat()}").gauss(0.0, spec.get("noise", 0.0))
    level = _anchor_level(anchors, day) * spec["weekly"][day.weekday()] * (1.0 + noise)
    return _bounded(spec, day, round(level))


def daily_totals(scenario: dict[str, Any], seed: int) -> dict[date, tuple[int, int]]:
    """Per day of the period: (total, usual total); pinned days keep their figure as the total."""
    spec = scenario["days"]
    pinned = {_day(d): int(v) for d, v in spec.get("pinned", {}).items()}
    period = scenario["period"]
    totals = {}
    for day in _days(_day(period["start"]), _day(period["end"])):
        usual = curve(spec, day, seed)
        totals[day] = (pinned.get(day, usual), usual)
    return totals


# ---------------------------------------------------------------- the day plans


def _event_window(scenario: dict[str, Any]) -> tuple[datetime, date] | None:
    event = scenario.get("event")
    if not event:
        return None
    return datetime.fromisoformat(event["dependent"]["uploaded"]), _day(event["until"])


def _names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(canonicalize_name(n) for n in names)


def plan_days(scenario: dict[str, Any], seed: int) -> list[DayPlan]:
    """What each day must hold: its total, fixed counts, the cap from a top-of-day list, event rows."""
    quotas: dict[date, list[tuple[frozenset[str], int, str]]] = {}
    event_packages = _names(p["name"] for p in scenario["event"]["packages"]) if scenario.get("event") else None
    for quota in scenario.get("quotas", []):
        names, fill = _names(quota["packages"]), quota.get("fill", "install")
        if fill not in ("install", "event") or (fill == "event" and names != event_packages):
            raise BadInput(f"the count of {quota['day']} is filled by {fill!r}",
                           "fill is 'install', or 'event' for exactly the event's packages")
        quotas.setdefault(_day(quota["day"]), []).append((names, int(quota["count"]), fill))
    caps = {}
    for top in scenario.get("top", []):
        day, listed = _day(top["day"]), _names(top["packages"])
        fixed = [limit for names, limit, _ in quotas.get(day, []) if len(names) == 1 and names <= listed]
        if len(fixed) != len(listed):
            raise BadInput(f"top list of {day}: every listed package needs its own fixed count", "add quotas")
        caps[day] = min(fixed) - 1
    window = _event_window(scenario)
    plans = []
    for day, (total, usual) in daily_totals(scenario, seed).items():
        day_quotas = tuple(quotas.get(day, []))
        event_from = _event_start(window, day)
        event_fed = any(fill == "event" for _, _, fill in day_quotas)
        event_rows = total - usual if event_from is not None and not event_fed else 0
        plans.append(DayPlan(day, total, day_quotas, caps.get(day), event_rows, event_from))
        _check_plan(plans[-1])
    return plans


def _event_start(window: tuple[datetime, date] | None, day: date) -> int | None:
    """The second of ``day`` the event starts from (0 after its first day), or None outside it."""
    if window is None or not window[0].date() <= day <= window[1]:
        return None
    start = window[0]
    return start.hour * 3600 + start.minute * 60 + start.second if start.date() == day else 0


def _check_plan(plan: DayPlan) -> None:
    fixed = sum(limit for _, limit, _ in plan.quotas) + plan.event_rows
    if plan.event_rows < 0 or fixed > plan.total:
        raise BadInput(f"{plan.day}: fixed counts and event rows ({fixed}) do not fit the total {plan.total}",
                       "check the scenario's figures")
    if plan.event_from is None and any(fill == "event" for _, _, fill in plan.quotas):
        raise BadInput(f"{plan.day}: a count filled by the event, on a day without the event", "check the quotas")


# ---------------------------------------------------------------- clients


def _released(spec: dict[str, Any], tool: str, version: str, day: date) -> bool:
    released = spec.get("released", {}).get(tool, {}).get(version)
    return released is None or _day(released) <= day


def clients_on(spec: dict[str, Any], day: date, python: str | None = None) -> Weighted:
    """The user agents of ``day`` (tools released by then), optionally of one Python version (X.Y)."""
    pairs = []
    for profile in spec["profiles"]:
        pips = {v: w for v, w in profile["pip"].items() if _released(spec, "pip", v, day)}
        tools = {v: w for v, w in profile["setuptools"].items() if _released(spec, "setuptools", v, day)}
        for py_full, py_weight in profile["pythons"].items():
            short = ".".join(py_full.split(".")[:2])
            if python is not None and short != python:
                continue
            for arch, arch_weight in profile["arches"].items():
                for kernel, k_weight in profile["kernels"][arch].items():
                    base = profile["weight"] * py_weight * arch_weight * k_weight
                    for pip, pip_weight in pips.items():
                        for setuptools, s_weight in tools.items():
                            fields = (arch, profile["distro"], profile["distro_version"], "Linux", kernel,
                                      "CPython", py_full, "pip", pip, setuptools)
                            pairs.append((Client(_csv_fields(fields), short, arch),
                                          base * pip_weight * s_weight / _total(pips) / _total(tools)))
    return Weighted.of(pairs)


def _total(weights: dict[str, float]) -> float:
    return sum(weights.values()) or 1.0


def _csv_fields(fields: Iterable[str]) -> str:
    for value in fields:
        if any(c in value for c in ',"\n'):
            raise BadInput(f"scenario value {value!r} would need CSV quoting", "use plain values")
    return ",".join(fields) + "\n"


def address(rng: random.Random, ipv4_share: float) -> str:
    """A synthetic client address from the documentation ranges (never a real one)."""
    if rng.random() < ipv4_share:
        return f"{DOC_NETS_V4[int(rng.random() * 3)]}.{1 + int(rng.random() * 254)}"
    bits = rng.getrandbits(48)
    return f"{DOC_NET_V6}:{bits >> 32:x}:{bits >> 16 & 0xFFFF:x}::{bits & 0xFFFF:x}"


# ---------------------------------------------------------------- what each session fetches


def _for_arch(wheel: str, arch: str) -> str:
    """piwheels' armv6l files are the armv7l builds under the armv6l platform tag."""
    return wheel.replace("linux_armv7l", f"linux_{arch}") if arch != "armv7l" else wheel


Files = tuple[tuple[str, str, float], ...]  # (package, piwheels file, probability that pip fetches it)


@dataclass
class Population:
    """The packages users install, and per client class (python, arch, mode) the files a session may fetch.

    ``sessions[class]`` draws the files of one install among the installs that fetch anything from piwheels
    for that class; ``mass[class]`` is the share of installs that do (the others leave no trace in the log).
    """

    sessions: dict[tuple[str, str, str], Weighted]
    mass: dict[tuple[str, str, str], float]
    catalog: dict[str, dict[str, tuple[str, bool]]]  # package -> python -> (piwheels file, PyPI has a wheel)
    root_weight: dict[str, float]

    @classmethod
    def build(cls, scenario: dict[str, Any]) -> Population:
        closures = scenario["_closures"]["packages"]
        installed = {canonicalize_name(k) if k != "default" else k: v for k, v in scenario["installed"].items()}
        weights = {name: float(w) for name, w in scenario["population"].items()
                   if name in closures and any("entries" in c for c in closures[name].values())}
        total = sum(weights.values())
        per_class: dict[tuple[str, str, str], list[tuple[Files, float]]] = {}
        for name, weight in weights.items():
            for python, recorded in closures[name].items():
                for arch in _arches(scenario):
                    for mode in MODES:
                        files = _session_files(recorded.get("entries", []), arch, mode, installed)
                        if files:
                            per_class.setdefault((python, arch, mode), []).append((files, weight))
        sessions = {key: Weighted.of(pairs) for key, pairs in per_class.items()}
        mass = {key: sum(w for _, w in pairs) / total for key, pairs in per_class.items()}
        root_weight = {canonicalize_name(n): w for n, w in weights.items()}
        return cls(sessions, mass, _catalog(scenario), root_weight)


def _arches(scenario: dict[str, Any]) -> list[str]:
    return sorted({arch for profile in scenario["clients"]["profiles"] for arch in profile["arches"]})


def _session_files(entries: list[dict[str, Any]], arch: str, mode: str, installed: dict[str, float]) -> Files:
    """(package, file, probability of fetching it) for the closure's files this client takes from piwheels."""
    files = []
    for position, entry in enumerate(entries):
        if entry["wheel"] is None or (mode == "extra" and entry["pypi"]):
            continue
        chance = 1.0 if position == 0 else 1.0 - installed.get(entry["name"], installed["default"])
        if chance > 0:
            files.append((entry["name"], _for_arch(entry["wheel"], arch), chance))
    return tuple(files)


def _catalog(scenario: dict[str, Any]) -> dict[str, dict[str, tuple[str, bool]]]:
    """The file each package most often resolves to, per Python version, over every recorded closure."""
    seen: dict[tuple[str, str], Counter[tuple[str, bool]]] = {}
    recorded = [c for per_python in scenario["_closures"]["packages"].values() for c in per_python.items()]
    recorded += [(c["python"], c) for c in scenario["_closures"].get("dependent", {}).values()]
    for python, closure in recorded:
        for entry in closure.get("entries", []):
            if entry["wheel"] is not None:
                seen.setdefault((entry["name"], python), Counter())[(entry["wheel"], entry["pypi"])] += 1
    catalog: dict[str, dict[str, tuple[str, bool]]] = {}
    for (name, python), counts in sorted(seen.items()):
        catalog.setdefault(name, {})[python] = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return catalog


def event_files(scenario: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(package, piwheels file, fetches per session) of the event's re-pinned packages, from the dependent's
    recorded closure on the event's Python."""
    event = scenario["event"]
    recorded = scenario["_closures"].get("dependent", {}).get(event["dependent"]["version"], {})
    by_name = {e["name"]: e for e in recorded.get("entries", [])}
    found = []
    for package in event["packages"]:
        name = canonicalize_name(package["name"])
        entry = by_name.get(name)
        if entry is None or entry["version"] != package["version"] or entry["wheel"] is None:
            raise BadInput(f"the recorded closure of the dependent release has no piwheels file of {name} "
                           f"{package['version']} for Python {event['python']}", "record the closures again")
        found.append((name, entry["wheel"], int(package.get("fetches", 1))))
    return found


# ---------------------------------------------------------------- one day


@dataclass
class Day:
    """The simulation of one day: rows as (second of day, CSV line)."""

    plan: DayPlan
    world: World
    rng: random.Random
    rows: list[tuple[int, str]] = field(default_factory=list)
    quotas: list[Quota] = field(default_factory=list)
    group_of: dict[str, Quota] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.stamp = self.plan.day.isoformat() + " "
        self.clients = clients_on(self.world.clients_spec, self.plan.day)
        self.kinds = self.world.session_kinds(self.clients)
        for packages, limit, fill in self.plan.quotas:
            quota = Quota(packages, limit, fill)
            self.quotas.append(quota)
            self.group_of.update(dict.fromkeys(packages, quota))

    def simulate(self) -> list[tuple[int, str]]:
        self._sessions()
        self._top_ups()
        event_rows = self.plan.event_rows + sum(q.deficit for q in self.quotas if q.fill == "event")
        self._event(event_rows)
        self.rows.sort(key=itemgetter(0))
        return self.rows

    def _sessions(self) -> None:
        """Install sessions until every row not set aside (fixed counts, event) is placed."""
        remaining = self.plan.total - self.plan.event_rows - sum(q.limit for q in self.quotas)
        idle = 0
        while remaining > 0:
            placed = self._session(remaining)
            remaining -= placed
            idle = 0 if placed else idle + 1
            if idle > MAX_IDLE_SESSIONS:
                raise BadInput(f"{self.plan.day}: sessions fetch nothing from piwheels", "check the population")

    def _session(self, remaining: int) -> int:
        """One client installs one package; returns how many rows outside the fixed counts it placed."""
        rng, group_of, cap, rows = self.rng, self.group_of, self.plan.others_cap, self.rows
        client, installs = self.kinds.draw(rng)
        files: Files = installs.draw(rng)
        start, placed, head = self._start(), 0, ""
        for offset, (package, filename, chance) in enumerate(files):
            if chance < 1.0 and rng.random() >= chance:
                continue
            quota = group_of.get(package)
            if quota is not None:
                if quota.count >= quota.limit:
                    continue  # the fixed count is reached: as if already installed
                quota.count += 1
            else:
                if placed == remaining:
                    break  # the day is full: the last session is cut here
                if cap is not None:
                    if self.counts[package] >= cap:
                        continue  # kept below the day's top list
                    self.counts[package] += 1
                placed += 1
            head = head or f",{address(rng, self.world.ipv4_share)},{self.stamp}"
            second = min(start + offset, DAY_SECONDS - 1)
            rows.append((second, f"{filename}{head}{CLOCK[second]},{client.suffix}"))
        return placed

    def _row(self, second: int, filename: str, who: str, client: Client) -> None:
        second = second if second < DAY_SECONDS else DAY_SECONDS - 1
        self.rows.append((second, f"{filename},{who},{self.stamp}{CLOCK[second]},{client.suffix}"))

    def _start(self) -> int:
        """A second of the day from the hourly bell curve."""
        rng, hours = self.rng, self.world.hours
        return min(bisect.bisect_right(hours, rng.random() * hours[-1]), 23) * 3600 + int(rng.random() * 3600)

    def _start_after(self, hours: Weighted, earliest: int) -> int:
        """A second of the day at or after ``earliest``, from ``hours`` (see :func:`hours_after`)."""
        hour: int = hours.draw(self.rng)
        low = max(earliest, hour * 3600)
        return low + int(self.rng.random() * (hour * 3600 + 3600 - low))

    def _top_ups(self) -> None:
        """Packages short of their fixed count, installed on their own by clients that get them from piwheels."""
        for quota in self.quotas:
            if quota.fill != "install":
                continue
            while quota.deficit > 0:
                filename, client = self.world.lone_install(quota.packages, self.clients, self.rng)
                quota.count += 1
                self._row(self._start(), filename, address(self.rng, self.world.ipv4_share), client)

    def _event(self, rows: int) -> None:
        """Upgrades in place of the dependent release: each session fetches only the re-pinned packages."""
        if rows <= 0:
            return
        assert self.plan.event_from is not None
        clients = clients_on(self.world.clients_spec, self.plan.day, self.world.event_python)
        hours = hours_after(self.world.hours, self.plan.event_from)
        while rows > 0:
            client: Client = clients.draw(self.rng)
            start = self._start_after(hours, self.plan.event_from)
            who = address(self.rng, self.world.ipv4_share)
            offset = 0
            for _package, wheel, fetches in self.world.event_files:
                for _ in range(fetches):
                    if rows == 0:
                        return
                    self._row(start + offset, _for_arch(wheel, client.arch), who, client)
                    offset, rows = offset + 1, rows - 1


# ---------------------------------------------------------------- the world and the writer


@dataclass
class World:
    """Everything a day needs that does not change from day to day."""

    clients_spec: dict[str, Any]
    population: Population
    hours: list[float]
    index_share: float
    ipv4_share: float
    event_python: str | None
    event_files: list[tuple[str, str, int]]

    def session_kinds(self, clients: Weighted) -> Weighted:
        """(client, its class's installs) weighted by how often such a client installs anything from piwheels."""
        pairs = []
        for client, weight in clients.pairs():
            for mode, share in ((MODES[0], 1.0 - self.index_share), (MODES[1], self.index_share)):
                key = (client.python, client.arch, mode)
                if key in self.population.sessions:
                    pairs.append(((client, self.population.sessions[key]), weight * share * self.population.mass[key]))
        return Weighted.of(pairs)

    @classmethod
    def build(cls, scenario: dict[str, Any]) -> World:
        clients = scenario["clients"]
        event = scenario.get("event")
        return cls(clients, Population.build(scenario), hourly_curve(scenario["hours"]),
                   float(clients.get("index_url_share", 0.0)), float(clients.get("ipv4_share", 0.0)),
                   event["python"] if event else None, event_files(scenario) if event else [])

    def lone_install(self, packages: frozenset[str], clients: Weighted,
                     rng: random.Random) -> tuple[str, Client]:
        """A file of one of ``packages`` installed alone, by one of ``clients`` that takes it from piwheels."""
        known = [p for p in sorted(packages) if p in self.population.catalog]
        if not known:
            raise BadInput(f"no recorded closure has a piwheels file of {', '.join(sorted(packages))}",
                           "record closures that include them, or drop the fixed count")
        package = Weighted.of((p, self.population.root_weight.get(p, 1.0)) for p in known).draw(rng)
        served = self.population.catalog[package]
        for _ in range(100_000):
            client: Client = clients.draw(rng)
            if client.python in served:
                filename, on_pypi = served[client.python]
                if not on_pypi or rng.random() < self.index_share:
                    return _for_arch(filename, client.arch), client
        raise BadInput(f"no client takes {package} from piwheels", "check the scenario's clients")


def hours_after(cumulative: list[float], earliest: int) -> Weighted:
    """The hours from the one holding second ``earliest`` on, weighted by the bell curve (the first one only
    for its part after ``earliest``)."""
    first = earliest // 3600
    return Weighted.of((hour, (cumulative[hour] - (cumulative[hour - 1] if hour else 0.0))
                        * ((3600 - earliest % 3600) / 3600 if hour == first else 1.0)) for hour in range(first, 24))


def hourly_curve(spec: dict[str, Any]) -> list[float]:
    """Cumulative weights of the 24 hours (UTC): a bell around ``peak`` over a ``floor``."""
    cumulative, total = [], 0.0
    for hour in range(24):
        distance = min(abs(hour + 0.5 - spec["peak"]), 24 - abs(hour + 0.5 - spec["peak"]))
        total += spec["floor"] + math.exp(-0.5 * (distance / spec["width"]) ** 2)
        cumulative.append(total)
    return cumulative


def day_log(plan: DayPlan, seed: int, world: World) -> tuple[int, bytes]:
    """One day's rows, in time order, as CSV bytes (and how many); each day has its own random stream."""
    rows = Day(plan, world, random.Random(f"{seed}:{plan.day.isoformat()}")).simulate()
    return len(rows), "".join([line for _, line in rows]).encode()


def _day_logs(scenario_path: Path, world: World, plans: list[DayPlan], seed: int,
              workers: int) -> Iterator[tuple[int, bytes]]:
    """The days' logs in order. With ``workers`` > 1, worker processes build every ``workers``-th day each
    (days are independent); if one fails, this process builds the days that are left."""
    done = 0
    if workers > 1:
        with _Workers(scenario_path, seed, workers) as pool:
            for _ in plans:
                found = pool.next_day()
                if found is None:
                    break
                yield found
                done += 1
    for plan in plans[done:]:
        yield day_log(plan, seed, world)


class _Workers:
    """Worker processes (``python -m depgraph.downloads.sample``), read in turn through their stdout."""

    FRAME = struct.Struct(">QQ")  # rows, bytes

    def __init__(self, scenario_path: Path, seed: int, workers: int) -> None:
        package_root = str(Path(__file__).resolve().parent.parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        self.processes = [subprocess.Popen([sys.executable, "-m", "depgraph.downloads.sample", str(scenario_path),
                                            str(seed), str(index), str(workers)], stdout=subprocess.PIPE,
                                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
                          for index in range(workers)]
        self.turn = 0

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.kill()
            process.wait()
            if process.stdout:
                process.stdout.close()

    def next_day(self) -> tuple[int, bytes] | None:
        """The next day's (rows, bytes), or None when its worker has failed."""
        stream = self.processes[self.turn % len(self.processes)].stdout
        self.turn += 1
        header = stream.read(self.FRAME.size) if stream else b""
        if len(header) < self.FRAME.size:
            return None
        rows, size = self.FRAME.unpack(header)
        chunk = stream.read(size) if stream else b""
        return (rows, chunk) if len(chunk) == size else None


def _worker(argv: list[str]) -> None:
    """Build every ``count``-th day from the ``index``-th and write each, framed, to stdout."""
    scenario_path, seed, index, count = Path(argv[0]), int(argv[1]), int(argv[2]), int(argv[3])
    scenario = load_scenario(scenario_path)
    world = World.build(scenario)
    out = sys.stdout.buffer
    for plan in plan_days(scenario, seed)[index::count]:
        rows, chunk = day_log(plan, seed, world)
        out.write(_Workers.FRAME.pack(rows, len(chunk)))
        out.write(chunk)
        out.flush()


def generate(scenario_path: Path, out_path: Path, seed: int | None = None) -> GenerationReport:
    """Write the scenario's reconstructed log to ``out_path`` (gzip CSV, piwheels' columns), one day at a time."""
    scenario_path, out_path = Path(scenario_path), Path(out_path)
    scenario = load_scenario(scenario_path)
    seed = int(scenario["seed"] if seed is None else seed)
    plans = plan_days(scenario, seed)
    world = World.build(scenario)  # in this process, too: a scenario the days cannot be built from fails here
    workers = min(MAX_WORKERS, os.cpu_count() or 1, len(plans) // DAYS_PER_WORKER)
    daily: dict[str, int] = {}
    with out_path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                    compresslevel=COMPRESSION) as stream:
        stream.write(HEADER.encode())
        for plan, (rows, chunk) in zip(plans, _day_logs(scenario_path, world, plans, seed, workers), strict=True):
            stream.write(chunk)
            daily[plan.day.isoformat()] = rows
    return GenerationReport(out_path, seed, plans[0].day, plans[-1].day, sum(daily.values()), daily)


if __name__ == "__main__":  # a worker of generate()
    _worker(sys.argv[1:])
