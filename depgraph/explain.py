"""One investigation of (package, day): is it a spike, did its dependencies follow, which packages spiked with
it, who downloaded them, which index served them, and which release explains it. One frozen result.

Everything comes from the store: the download log (counts, signatures, the files actually served) and the
release-metadata corpus (dependencies, the files PyPI offered, the candidate releases).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from depgraph.attribution import Suspect, rank_suspects
from depgraph.candidates import CandidateReleases, CandidateSource, extra_releases
from depgraph.detect import (
    Coherence,
    DayStat,
    Signature,
    SpikeParams,
    co_spike_clusters,
    excess_shares,
    judge_coherence,
    signatures,
)
from depgraph.downloads.corpora import reconstruction_note
from depgraph.downloads.filenames import canonical_name
from depgraph.downloads.queries import download_counts
from depgraph.downloads.releases import release, release_filenames
from depgraph.downloads.store import Store, has_table
from depgraph.environment import TargetEnvironment
from depgraph.errors import BadInput
from depgraph.explicit_index import ExplicitIndex, explain_index_mix
from depgraph.sources.simple import ReleaseFile, parse_distribution_filename
from depgraph.spikes import (
    Scope,
    check_days,
    check_known,
    dependencies_of,
    dominant,
    download_source,
    requirements_for,
    target_environment,
)

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
    check_days(store, day, day)
    check_known(store, name)
    (stat,) = scope.stats([name])
    history = tuple(row.downloads for row in download_counts(
        store, [name], day - timedelta(days=SPARKLINE_DAYS - 1), day, source=scope.source).rows)
    own = signatures(store, day, [name], scope.source).get(name)
    if stat.status != "spike":
        versions = {name: dominant(own.shares["version"])} if own else {}
        found = Explanation(name, day.isoformat(), stat, stat.status, history, signature=own,
                            pure_python=_pure_python(scope, name), summary=_quiet_summary(name, day, stat),
                            diagram=_diagram(scope, versions, (name,), target_environment(own), None))
    else:
        found = _investigate_spike(scope, name, stat, history, own)
    reconstruction = reconstruction_note(store)
    return replace(found, notes=(reconstruction, *found.notes)) if reconstruction else found


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
    spiking = frozenset(s.package for s in scope.scan().spikes)
    found = signatures(store, day, sorted(spiking | {name}), scope.source)
    cluster = next((c for c in co_spike_clusters({p: found[p] for p in spiking if p in found})
                    if name in c.packages), None)
    members = cluster.packages if cluster else (name,)
    versions = {p: dominant(found[p].shares["version"]) for p in members if p in found}
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
    target = target_environment(own)
    dependencies = dependencies_of(store, name, versions.get(name), target, notes)
    dep_stats = tuple(scope.stats(dependencies)) if dependencies else ()
    breadth = scope.scan().index_median_ratio
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


def _diagram(scope: Scope, versions: dict[str, str], members: tuple[str, ...], target: TargetEnvironment,
             suspect: Suspect | None) -> Diagram:
    """The cluster, each member's direct dependencies for the target, and the first suspect's requirements."""
    edges: list[DiagramEdge] = []
    for member in members:
        requirements = requirements_for(scope.store, member, versions.get(member), target) or {}
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
        python = dominant(e.excess_python)
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


