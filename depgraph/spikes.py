"""Every package that spiked on a day, its verdict, and the clusters of packages that spiked together: the
registry-wide scan behind ``depgraph spikes``, and the day's view of the store that ``depgraph explain`` builds on.

Stats for every package come from one vectorised query per day (detect.day_stats); a spiking package's
dependencies come from the release-metadata corpus, for the Python and platform most of its downloads came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from packaging.utils import canonicalize_name

from depgraph.candidates import CandidateSource
from depgraph.detect import (
    DayScan,
    DayStat,
    Signature,
    SpikeParams,
    co_spike_clusters,
    day_scan,
    day_stats,
    judge_coherence,
    signatures,
)
from depgraph.downloads.corpora import reconstruction_note
from depgraph.downloads.releases import parsed_requirement, release
from depgraph.downloads.store import Store, has_table
from depgraph.environment import TargetEnvironment
from depgraph.errors import BadInput


@dataclass(frozen=True)
class Scope:
    """What one investigation looks at: the store, the day, the spike thresholds, the index whose downloads
    are counted (``source``; None: every index in the store together), and where else to find releases."""

    store: Store
    day: date
    params: SpikeParams
    source: str | None
    candidates: CandidateSource | None = None
    _known: dict[str, DayStat] = field(default_factory=dict, compare=False, repr=False)
    _scans: list[DayScan] = field(default_factory=list, compare=False, repr=False)

    def scan(self) -> DayScan:
        """The scope's whole day: every package that spiked and the index-wide median ratio (asked once)."""
        if not self._scans:
            self._scans.append(day_scan(self.store, self.day, self.params, source=self.source))
            self._known.update((s.package, s) for s in self._scans[0].spikes)
        return self._scans[0]

    def stats(self, packages: list[str], day: date | None = None) -> list[DayStat]:
        """The named packages against their baselines on the scope's day, or on another; on the scope's day
        each package is asked once."""
        if day is not None and day != self.day:
            return day_stats(self.store, day, self.params, packages=packages, source=self.source)
        missing = [p for p in packages if p not in self._known]
        if missing:
            self._known.update((s.package, s) for s in day_stats(self.store, self.day, self.params,
                                                                 packages=missing, source=self.source))
        return [self._known[p] for p in packages]


def download_source(store: Store, index: str | None) -> str | None:
    """The index whose downloads to count: ``index`` if the store has its logs; else the store's only one."""
    found = [row[0] for row in store.query(  # from the ingested files' list: scanning the downloads is slow
        "SELECT DISTINCT source FROM ingested_files WHERE format <> 'releases' ORDER BY 1")]
    if index is not None:
        if index not in found:
            raise BadInput(f"the store has no downloads from index {index!r}",
                           f"use one of: {', '.join(found) or '(none: ingest a log first)'}")
        return index
    return found[0] if len(found) == 1 else None


def dominant(shares: dict[str, float]) -> str:
    return max(sorted(shares), key=lambda value: shares[value])


def target_environment(signature: Signature | None) -> TargetEnvironment:
    """The environment most of the day's downloads came from (Python version and arch)."""
    if signature is None:
        return TargetEnvironment.create("3.7", "linux_armv7l")
    python = dominant(signature.shares["python"])
    arch = dominant(signature.shares["arch"])
    python = python if python != "?" else "3.7"
    return TargetEnvironment.create(python, f"linux_{arch}" if arch != "?" else "linux_armv7l")


def dependencies_of(store: Store, name: str, version: str | None, target: TargetEnvironment,
                    notes: list[str]) -> list[str]:
    """Direct dependencies of the downloaded release for the target, from the release-metadata corpus."""
    found = requirements_for(store, name, version, target)
    if found is None:
        notes.append(f"the release corpus has no metadata for {name} {version}: its dependencies are unknown")
        return []
    return sorted(found)


def requirements_for(store: Store, name: str, version: str | None,
                     target: TargetEnvironment) -> dict[str, str] | None:
    """Package -> specifier of the release's requirements that apply to the target (None: not in the corpus)."""
    found = release(store, name, version) if version and has_table(store, "releases") else None
    if found is None:
        return None
    requirements: dict[str, str] = {}
    for text in found.requires_dist:
        requirement = parsed_requirement(text)
        if requirement is None:
            continue
        if requirement.marker is None or requirement.marker.evaluate({**target.markers, "extra": ""}):
            requirements[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return requirements


def download_stats(store: Store, day: date, packages: list[str], index: str | None = None) -> dict[str, dict]:
    """Each package's downloads on ``day`` against its baseline (count, baseline, ratio, spike), for drawing a
    dependency graph coloured by that day's downloads."""
    check_days(store, day, day)
    source = download_source(store, index)
    return {s.package: s.to_dict() for s in day_stats(store, day, packages=packages, source=source)}


def check_days(store: Store, start: date, end: date, option: str = "--date") -> None:
    """Refuse days the store holds no downloads for: a day outside the logs is not a quiet day."""
    from depgraph.downloads.queries import store_range

    held = store_range(store)
    if held is None:
        raise BadInput(f"the store at {store.path} holds no downloads yet", "ingest a log first: depgraph ingest FILE")
    first, last = held
    if start < first or end > last:
        asked = f"{option} {start}" if start == end else f"{start} to {end}"
        raise BadInput(f"{asked} is outside the store's downloads ({first} to {last})",
                       "pick a day inside that range, or ingest the logs of that day")


def check_known(store: Store, package: str) -> None:
    """Refuse a package the store has never heard of (no downloads, no counts, no releases): likely a typo."""
    events = "download_files" if has_table(store, "download_files") else "downloads"
    tables = [f"SELECT 1 FROM {events} WHERE package = $name", "SELECT 1 FROM download_counts WHERE package = $name"]
    if has_table(store, "releases"):
        tables.append("SELECT 1 FROM releases WHERE name = $name")
    found = store.connection.execute(f"SELECT EXISTS ({' UNION ALL '.join(tables)})", {"name": package}).fetchone()
    if not found or not found[0]:
        raise BadInput(f"the store has no downloads of {package!r}",
                       "check the name; `depgraph top --date D` lists the packages of a day")


@dataclass(frozen=True)
class SpikeRow:
    stat: DayStat
    verdict: str
    cluster: int | None  # the number of its cluster that day (1 is the largest)

    def to_dict(self) -> dict[str, Any]:
        data = self.stat.to_dict()
        return {"package": data["package"], "date": data["date"], "count": data["count"],
                "baseline": data["baseline"], "ratio": data["ratio"], "excess": data["excess"],
                "verdict": self.verdict, "cluster": self.cluster}


@dataclass(frozen=True)
class SpikeReport:
    start: str
    end: str
    rows: tuple[SpikeRow, ...]
    clusters: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start, "to": self.end, "spikes": [r.to_dict() for r in self.rows],
                "clusters": list(self.clusters), "notes": list(self.notes)}


def spike_report(store: Store, start: date, end: date, params: SpikeParams | None = None,
                 index: str | None = None) -> SpikeReport:
    """Every package that spiked on each day of [start, end], its verdict, and the day's clusters."""
    params = params or SpikeParams()
    if end < start:
        raise BadInput(f"--from {start} is after --to {end}", "swap them")
    source = download_source(store, index)
    check_days(store, start, end)
    rows: list[SpikeRow] = []
    clusters: list[dict[str, Any]] = []
    day = start
    while day <= end:
        rows_of_day, clusters_of_day = _spikes_of_day(Scope(store, day, params, source))
        rows += rows_of_day
        clusters += clusters_of_day
        day += timedelta(days=1)
    reconstruction = reconstruction_note(store)
    return SpikeReport(start.isoformat(), end.isoformat(), tuple(rows), tuple(clusters),
                       (reconstruction,) if reconstruction else ())


def _spikes_of_day(scope: Scope) -> tuple[list[SpikeRow], list[dict[str, Any]]]:
    store, day = scope.store, scope.day
    scan = scope.scan()
    if not scan.spikes:
        return [], []
    found = signatures(store, day, [s.package for s in scan.spikes], scope.source)
    clusters = co_spike_clusters(found)
    number = {p: i + 1 for i, c in enumerate(clusters) for p in c.packages}
    targets = {}
    for stat in scan.spikes:
        versions = found[stat.package].shares["version"] if stat.package in found else {}
        target = target_environment(found.get(stat.package))
        targets[stat.package] = dependencies_of(store, stat.package, dominant(versions) if versions else None,
                                                target, [])
    dependencies = sorted({d for found_deps in targets.values() for d in found_deps})
    dep_stats = {s.package: s for s in scope.stats(dependencies)} if dependencies else {}
    rows = [SpikeRow(stat, judge_coherence(stat, [dep_stats[d] for d in targets[stat.package]],
                                           scan.index_median_ratio).verdict, number.get(stat.package))
            for stat in scan.spikes]
    described = [{"date": day.isoformat(), "number": i + 1, **c.to_dict()} for i, c in enumerate(clusters)]
    return rows, described
