"""One investigation of (package, day): is it a spike, did its dependencies follow, which packages spiked with
it, who downloaded them, which index served them, and which release explains it. One frozen result.

Everything comes from the store: the download log (counts, signatures, the files actually served) and the
release-metadata corpus (dependencies, the files PyPI offered, the candidate releases).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from depgraph.attribution import Suspect, rank_suspects
from depgraph.candidates import CandidateReleases, CandidateSource, extra_releases
from depgraph.detect import (
    Coherence,
    DayStat,
    Signature,
    SpikeParams,
    co_spike_clusters,
    day_stats,
    excess_shares,
    index_median_ratio,
    judge_coherence,
    signatures,
)
from depgraph.downloads.filenames import canonical_name
from depgraph.downloads.queries import download_counts
from depgraph.downloads.releases import release, release_filenames
from depgraph.downloads.store import Store, has_table
from depgraph.environment import TargetEnvironment
from depgraph.errors import BadInput
from depgraph.explicit_index import ExplicitIndex, explain_index_mix
from depgraph.sources.simple import ReleaseFile, parse_distribution_filename

SPARKLINE_DAYS = 28
EXTRA_INDEX = "piwheels"  # the index Raspberry Pi OS configures as pip's extra index


@dataclass(frozen=True)
class DiagramNode:
    """A package in the picture of a spike: its version, the day's downloads against the baseline, its role."""

    package: str
    version: str | None
    role: str  # spiking (the cluster) | dependency | suspect
    count: int | None = None
    baseline: float | None = None
    ratio: float | None = None
    spike: bool = False
    released: str | None = None  # suspects only

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "role": self.role, "count": self.count,
                "baseline": self.baseline, "ratio": None if self.ratio is None else round(self.ratio, 3),
                "spike": self.spike, "released": self.released}


@dataclass(frozen=True)
class DiagramEdge:
    source: str
    target: str
    specifier: str
    kind: str  # requires | changed (a suspect's requirement changed since its previous release) | unchanged

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "specifier": self.specifier, "kind": self.kind}


@dataclass(frozen=True)
class Diagram:
    """What a spike's dependency diagram draws: the cluster, its dependencies, and the first suspect."""

    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [n.to_dict() for n in self.nodes], "edges": [e.to_dict() for e in self.edges]}


@dataclass(frozen=True)
class Explanation:
    package: str
    date: str
    downloads: DayStat
    verdict: str
    history: tuple[int, ...]  # the last 28 days' downloads, ending on the day
    dependencies: tuple[DayStat, ...] = ()
    coherence: Coherence | None = None
    signature: Signature | None = None
    pure_python: bool | None = None
    cluster: tuple[str, ...] = ()
    cluster_similarity: float | None = None
    cluster_versions: dict[str, str] = field(default_factory=dict)
    spike_start: str | None = None
    suspects: tuple[Suspect, ...] = ()
    explicit_index: ExplicitIndex | None = None
    not_following: tuple[dict[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    summary: str = ""
    diagram: Diagram | None = None
    excess_python: dict[str, float] = field(default_factory=dict)  # how the excess splits by Python version

    def to_dict(self) -> dict[str, Any]:
        stat = self.downloads
        return {
            "package": self.package, "date": self.date,
            "downloads": {"count": stat.count, "baseline": stat.baseline, "ratio": stat.to_dict()["ratio"],
                          "excess": stat.excess, "spike": stat.spike},
            "verdict": self.verdict,
            "history": list(self.history),
            "dependencies": [{"package": d.package, "count": d.count, "baseline": d.baseline,
                              "ratio": d.to_dict()["ratio"], "excess": d.excess} for d in self.dependencies],
            "coherence": self.coherence.to_dict() if self.coherence else None,
            "signature": {**(self.signature.to_dict() if self.signature else {}), "pure_python": self.pure_python,
                          "python_excess": {k: round(v, 4) for k, v in self.excess_python.items()}},
            "cluster": list(self.cluster),
            "cluster_similarity": None if self.cluster_similarity is None else round(self.cluster_similarity, 4),
            "cluster_versions": self.cluster_versions,
            "spike_start": self.spike_start,
            "suspects": [s.to_dict() for s in self.suspects],
            "explicit_index": self.explicit_index.to_dict() if self.explicit_index else None,
            "dependencies_not_following": list(self.not_following),
            "notes": list(self.notes),
            "summary": self.summary,
            "diagram": self.diagram.to_dict() if self.diagram else None,
        }


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
    _downloaded: list[DayStat] = field(default_factory=list, compare=False, repr=False)

    def stats(self, packages: list[str] | None = None, day: date | None = None) -> list[DayStat]:
        """The named packages (default: every package downloaded that day) against their baselines on the
        scope's day, or on another; on the scope's day each package is asked once."""
        if day is not None and day != self.day:
            return day_stats(self.store, day, self.params, packages=packages, source=self.source)
        if packages is None:
            if not self._downloaded:
                self._downloaded.extend(day_stats(self.store, self.day, self.params, source=self.source))
                self._known.update((s.package, s) for s in self._downloaded)
            return list(self._downloaded)
        missing = [p for p in packages if p not in self._known]
        if missing:
            self._known.update((s.package, s) for s in day_stats(self.store, self.day, self.params,
                                                                 packages=missing, source=self.source))
        return [self._known[p] for p in packages]


def explain(store: Store, package: str, day: date, params: SpikeParams | None = None, index: str | None = None,
            candidates: CandidateSource | None = None) -> Explanation:
    """Investigate ``package`` on ``day`` from the store.

    ``index`` picks whose downloads to count when the store holds several indexes' logs (default: the only
    one, or all together). ``candidates`` says where to read releases the store's corpus lacks (the indexes,
    or only depgraph's cache); without it, only the store is used."""
    name = canonical_name(package)
    if name is None:
        raise BadInput(f"package {package!r} is not a valid project name", "use e.g. zope-interface")
    scope = Scope(store, day, params or SpikeParams(), download_source(store, index), candidates)
    (stat,) = scope.stats([name])
    history = tuple(row.downloads for row in download_counts(
        store, [name], day - timedelta(days=SPARKLINE_DAYS - 1), day, source=scope.source).rows)
    own = signatures(store, day, [name], scope.source).get(name)
    if stat.status != "spike":
        versions = {name: _dominant(own.shares["version"])} if own else {}
        return Explanation(name, day.isoformat(), stat, stat.status, history, signature=own,
                           pure_python=_pure_python(scope, name), summary=_quiet_summary(name, day, stat),
                           diagram=_diagram(scope, versions, (name,), _target(own), None))
    return _investigate_spike(scope, name, stat, history, own)


def download_source(store: Store, index: str | None) -> str | None:
    """The index whose downloads to count: ``index`` if the store has its logs; else the store's only one."""
    found = [row[0] for row in store.query(
        "SELECT DISTINCT source FROM downloads UNION SELECT DISTINCT source FROM download_counts ORDER BY 1")]
    if index is not None:
        if index not in found:
            raise BadInput(f"the store has no downloads from index {index!r}",
                           f"use one of: {', '.join(found) or '(none: ingest a log first)'}")
        return index
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class SpikeCluster:
    """The spike's day-level facts: what spiked that day, the cluster it belongs to, the versions downloaded."""

    stat: DayStat
    spiking: frozenset[str]
    members: tuple[str, ...]
    similarity: float | None
    versions: dict[str, str]


def _investigate_spike(scope: Scope, name: str, stat: DayStat, history: tuple[int, ...],
                       own: Signature | None) -> Explanation:
    store, day = scope.store, scope.day
    spiking = frozenset(s.package for s in scope.stats() if s.spike)
    found = signatures(store, day, sorted(spiking | {name}), scope.source)
    cluster = next((c for c in co_spike_clusters({p: found[p] for p in spiking if p in found})
                    if name in c.packages), None)
    members = cluster.packages if cluster else (name,)
    versions = {p: _dominant(found[p].shares["version"]) for p in members if p in found}
    spike = SpikeCluster(stat, spiking, members, cluster.similarity if cluster else None, versions)
    fetched = _fetch_releases(scope, versions)
    with extra_releases(store, fetched.rows):
        explanation = _weigh_evidence(scope, name, spike, history, own, list(fetched.notes))
    return _with_summary(explanation)


def _fetch_releases(scope: Scope, versions: dict[str, str]) -> CandidateReleases:
    """Releases from the indexes: the named candidates, the cached projects, and the downloaded releases the
    store's corpus does not describe."""
    if scope.candidates is None:
        return CandidateReleases()
    has_corpus = has_table(scope.store, "releases")
    missing = {p: v for p, v in versions.items() if not has_corpus or release(scope.store, p, v) is None}
    return scope.candidates.fetch(scope.day, missing)


def _weigh_evidence(scope: Scope, name: str, spike: SpikeCluster, history: tuple[int, ...],
                    own: Signature | None, notes: list[str]) -> Explanation:
    store, day, versions, members = scope.store, scope.day, spike.versions, spike.members
    target = _target(own)
    dependencies = _dependencies(store, name, versions.get(name), target, notes)
    dep_stats = tuple(scope.stats(dependencies)) if dependencies else ()
    breadth = index_median_ratio(scope.stats())
    coherence = judge_coherence(spike.stat, list(dep_stats), breadth)
    start = _spike_start(scope, name, spike.stat)
    has_corpus = has_table(store, "releases")
    suspects = tuple(rank_suspects(store, versions, day, set(spike.spiking), start)) if has_corpus else ()
    if not has_corpus:
        notes.append("no release-metadata corpus in the store: ingest one, or name --candidates, to rank suspects")
    mix = _explicit_index(scope, members, versions, target, notes)
    not_following = _not_following(store, dep_stats, suspects, target, day, mix)
    return Explanation(
        name, day.isoformat(), spike.stat, coherence.verdict, history, dep_stats, coherence, own,
        _pure_python(scope, name), members, spike.similarity, versions,
        start.isoformat() if start else None, suspects[:10], mix, not_following, tuple(notes),
        diagram=_diagram(scope, versions, members, target, suspects[0] if suspects else None),
        excess_python=excess_shares(store, day, name, "python", scope.params, scope.source))


def _dominant(shares: dict[str, float]) -> str:
    return max(sorted(shares), key=lambda value: shares[value])


def _target(signature: Signature | None) -> TargetEnvironment:
    """The environment most of the day's downloads came from (Python version and arch)."""
    if signature is None:
        return TargetEnvironment.create("3.7", "linux_armv7l")
    python = _dominant(signature.shares["python"])
    arch = _dominant(signature.shares["arch"])
    python = python if python != "?" else "3.7"
    return TargetEnvironment.create(python, f"linux_{arch}" if arch != "?" else "linux_armv7l")


def _dependencies(store: Store, name: str, version: str | None, target: TargetEnvironment,
                  notes: list[str]) -> list[str]:
    """Direct dependencies of the downloaded release for the target, from the release-metadata corpus."""
    found = _requirements_for(store, name, version, target)
    if found is None:
        notes.append(f"the release corpus has no metadata for {name} {version}: its dependencies are unknown")
        return []
    return sorted(found)


def _requirements_for(store: Store, name: str, version: str | None,
                      target: TargetEnvironment) -> dict[str, str] | None:
    """Package -> specifier of the release's requirements that apply to the target (None: not in the corpus)."""
    found = release(store, name, version) if version and has_table(store, "releases") else None
    if found is None:
        return None
    requirements: dict[str, str] = {}
    for text in found.requires_dist:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({**target.markers, "extra": ""}):
            requirements[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return requirements


def _diagram(scope: Scope, versions: dict[str, str], members: tuple[str, ...], target: TargetEnvironment,
             suspect: Suspect | None) -> Diagram:
    """The cluster, each member's direct dependencies for the target, and the first suspect's requirements."""
    edges: list[DiagramEdge] = []
    for member in members:
        requirements = _requirements_for(scope.store, member, versions.get(member), target) or {}
        edges += [DiagramEdge(member, dependency, specifier, "requires")
                  for dependency, specifier in sorted(requirements.items())]
    shown = set(members) | {e.target for e in edges}
    if suspect is not None:
        for package, specifier in sorted(suspect.requirements.items()):
            if package in shown:
                kind = "unchanged" if package in suspect.unchanged else "changed"
                edges.append(DiagramEdge(suspect.package, package, specifier, kind))
    stats = {s.package: s for s in scope.stats(sorted(shown))}
    nodes = [DiagramNode(package, versions.get(package), "spiking" if package in members else "dependency",
                         stats[package].count, stats[package].baseline, stats[package].ratio,
                         stats[package].spike) for package in sorted(shown)]
    if suspect is not None:
        nodes.append(DiagramNode(suspect.package, suspect.version, "suspect", released=suspect.released))
    return Diagram(tuple(nodes), tuple(edges))


def _spike_start(scope: Scope, name: str, stat: DayStat) -> datetime | None:
    """The first hour of the run of spike days that ends on the scope's day (whose ``stat`` the caller has)."""
    first = scope.day
    for back in range(1, 8):
        earlier = scope.day - timedelta(days=back)
        (earlier_stat,) = scope.stats([name], earlier)
        if not earlier_stat.spike:
            break
        first, stat = earlier, earlier_stat
    hourly = download_counts(scope.store, [name], first, first, by="hour", source=scope.source).rows
    threshold = max(3 * stat.baseline / 24, 1.0)
    for row in hourly:
        if row.downloads > threshold:
            return datetime.fromisoformat(row.period)
    return datetime(first.year, first.month, first.day)


def _files(store: Store, name: str, version: str, day: date) -> list[ReleaseFile]:
    """What each index offered: PyPI's files from the corpus; piwheels' from the files its log shows served
    (piwheels' own file list for that day is not in the store: this is inferred, and said so)."""
    files = [_release_file(f, "pypi") for f in release_filenames(store, name, version)]
    served = store.query("SELECT DISTINCT filename FROM downloads WHERE package = ? AND version = ? AND source = ? "
                         "AND ts < ? ORDER BY filename", [name, version, EXTRA_INDEX, day + timedelta(days=1)])
    files += [_release_file(row[0], EXTRA_INDEX) for row in served]
    return [f for f in files if f is not None]


def _release_file(filename: str, index: str) -> ReleaseFile | None:
    parsed = parse_distribution_filename(filename)
    if parsed is None:
        return None
    name, version, kind, tags = parsed
    return ReleaseFile(name, version, filename, f"{index}:{filename}", kind, tags, None, None, False, None, None,
                       None, index)


def _explicit_index(scope: Scope, members: tuple[str, ...], versions: dict[str, str], target: TargetEnvironment,
                    notes: list[str]) -> ExplicitIndex | None:
    """pip's choice between PyPI and an extra index explains the counts of the extra index's log only."""
    if not has_table(scope.store, "releases") or scope.source != EXTRA_INDEX:
        return None
    stats = {s.package: s for s in scope.stats(list(members))}
    observed = {p: (versions[p], round(stats[p].excess)) for p in members if p in versions}
    files = {p: _files(scope.store, p, v, scope.day) for p, (v, _) in observed.items()}
    notes.append(f"the files {EXTRA_INDEX} offered are inferred from the files its log shows it served")
    return explain_index_mix(observed, files, target, EXTRA_INDEX)


def _not_following(store: Store, dependencies: tuple[DayStat, ...], suspects: tuple[Suspect, ...],
                   target: TargetEnvironment, day: date, mix: ExplicitIndex | None) -> tuple[dict[str, str], ...]:
    """For each dependency that did not rise: not needed (the suspect kept its requirement), served by another
    index, or, where the model expects downloads here that did not come, not explained."""
    if not suspects:
        return ()
    top = suspects[0]
    found = []
    for dependency in (d for d in dependencies if not d.spike):
        if dependency.package in top.unchanged:
            why = (f"not needed: {top.package} {top.version} kept its requirement, so upgrading installations "
                   "already had it")
        else:
            why = _changed_dependency(store, dependency, top, target, day, mix)
        found.append({"package": dependency.package, "why": why})
    return tuple(found)


def _changed_dependency(store: Store, dependency: DayStat, top: Suspect, target: TargetEnvironment, day: date,
                        mix: ExplicitIndex | None) -> str:
    from depgraph.attribution import newest_admitted
    from depgraph.explicit_index import DEFAULT_ORDER, expected_index

    specifier = top.requirements.get(dependency.package, "")
    version = newest_admitted(store, dependency.package, specifier, day)
    if version is None:
        return f"its requirement changed in {top.package} {top.version}, but the corpus knows no release of it"
    files = [f for f in (_release_file(n, "pypi") for n in release_filenames(store, dependency.package, version))
             if f is not None]
    default = expected_index(files, version, target, DEFAULT_ORDER)
    if default != "pypi":
        return (f"its requirement changed in {top.package} {top.version} ({specifier}); the corpus cannot tell "
                f"where {version} was served from")
    expected = (mix.clients or 0) * (mix.primary_share or 0) if mix and mix.likely else None
    tail = (f"; the model expects about {expected:,.0f} downloads here from piwheels-primary clients, but only "
            f"{max(0, dependency.excess):,.0f} came: not explained (perhaps it was already new enough)"
            if expected else "")
    return (f"served elsewhere: {top.package} {top.version} re-pinned it ({specifier}), and PyPI offers "
            f"{version} as a wheel, so default-configuration clients fetched it from PyPI{tail}")


def _pure_python(scope: Scope, name: str) -> bool | None:
    source_filter = "AND source = ?" if scope.source else ""
    rows = scope.store.query(
        f"SELECT DISTINCT filename FROM downloads WHERE package = ? AND ts >= ? AND ts < ? {source_filter}",
        [name, scope.day, scope.day + timedelta(days=1), *([scope.source] if scope.source else [])])
    if not rows:
        return None
    return all(row[0].endswith("-none-any.whl") for row in rows)


def _quiet_summary(name: str, day: date, stat: DayStat) -> str:
    if stat.status == "insufficient-data":
        return (f"{name} has too little download history before {day} to tell a spike from its normal level "
                f"({stat.count:,} downloads that day).")
    return (f"{name} had {stat.count:,} downloads on {day}, against a baseline of {stat.baseline:,.0f} a day: "
            "no spike.")


def _with_summary(e: Explanation) -> Explanation:
    stat = e.downloads
    parts = [f"On {e.date}, {e.package} had {stat.count:,} downloads, {stat.ratio or 0:.0f}x its baseline of "
             f"{stat.baseline:,.0f}: an {e.verdict}."]
    if e.coherence:
        parts.append(f"Its dependencies did not follow ({e.coherence.reason})."
                     if e.verdict == "orphan-spike" else e.coherence.reason[0].upper() + e.coherence.reason[1:] + ".")
    if e.excess_python:
        python = _dominant(e.excess_python)
        parts.append(f"Python {python} clients account for {e.excess_python[python]:.0%} of the excess.")
    if len(e.cluster) > 1:
        parts.append(f"It spiked together with {', '.join(p for p in e.cluster if p != e.package)}, "
                     "downloaded by the same clients.")
    if e.suspects:
        top = e.suspects[0]
        parts.append(f"The best explanation is {top.package} {top.version}, released {top.released[:16]}: "
                     f"{top.evidence[0]}.")
    if e.explicit_index:
        parts.append(e.explicit_index.reason[0].upper() + e.explicit_index.reason[1:] + ".")
    return replace(e, summary=" ".join(parts))


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

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start, "to": self.end, "spikes": [r.to_dict() for r in self.rows],
                "clusters": list(self.clusters)}


def spike_report(store: Store, start: date, end: date, params: SpikeParams | None = None,
                 index: str | None = None) -> SpikeReport:
    """Every package that spiked on each day of [start, end], its verdict, and the day's clusters."""
    params = params or SpikeParams()
    if end < start:
        raise BadInput(f"--from {start} is after --to {end}", "swap them")
    source = download_source(store, index)
    rows: list[SpikeRow] = []
    clusters: list[dict[str, Any]] = []
    day = start
    while day <= end:
        rows_of_day, clusters_of_day = _spikes_of_day(Scope(store, day, params, source))
        rows += rows_of_day
        clusters += clusters_of_day
        day += timedelta(days=1)
    return SpikeReport(start.isoformat(), end.isoformat(), tuple(rows), tuple(clusters))


def _spikes_of_day(scope: Scope) -> tuple[list[SpikeRow], list[dict[str, Any]]]:
    store, day = scope.store, scope.day
    stats = {s.package: s for s in scope.stats()}
    spiking = sorted((s for s in stats.values() if s.spike), key=lambda s: (-s.excess, s.package))
    if not spiking:
        return [], []
    found = signatures(store, day, [s.package for s in spiking], scope.source)
    clusters = co_spike_clusters(found)
    number = {p: i + 1 for i, c in enumerate(clusters) for p in c.packages}
    breadth = index_median_ratio(list(stats.values()))
    rows = []
    for stat in spiking:
        versions = found[stat.package].shares["version"] if stat.package in found else {}
        target = _target(found.get(stat.package))
        dependencies = _dependencies(store, stat.package, _dominant(versions) if versions else None, target, [])
        dep_stats = [stats.get(d) or DayStat(d, day.isoformat(), 0, 0.0, 0.0, None, 0.0, False, "no-spike")
                     for d in dependencies]
        rows.append(SpikeRow(stat, judge_coherence(stat, dep_stats, breadth).verdict, number.get(stat.package)))
    described = [{"date": day.isoformat(), "number": i + 1, **c.to_dict()} for i, c in enumerate(clusters)]
    return rows, described
