"""Which release explains a cluster of spiking packages: rank candidate releases by the evidence.

A candidate is a release, uploaded in the weeks before the spike, that requires some of the cluster's
packages (from the store's release-metadata corpus). Its score adds four pieces of evidence, each in [0, 1]:

- coverage (weight 0.35): the share of the cluster it requires;
- fingerprint (0.30): the share of those requirements for which the version actually downloaded is exactly
  the newest version its specifier admitted on that day (a pin to an older release is a strong fingerprint),
  times the coverage;
- changes (0.20): the share of the required cluster packages whose requirement changed since its previous
  release (the previous final release, for a final release), minus a penalty for unchanged requirements that
  spiked anyway, times the coverage;
- recency (0.15): how shortly before the spike it was released (halving every 7 days; 0 when released after
  the spike began).

Requirements behind an ``extra`` are left out: nobody installs them without asking for them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depgraph.downloads.releases import (
    ReleaseRow,
    parsed_requirement,
    releases_of,
    releases_requiring,
    versions_of,
)
from depgraph.downloads.store import Store

WEIGHTS = {"coverage": 0.35, "fingerprint": 0.30, "changes": 0.20, "recency": 0.15}
LOOKBACK_DAYS = 30
HALF_LIFE_DAYS = 7.0
GRACE_DAYS = 1 / 24  # the spike's start is known to the hour: a release within that hour counts as before it


@dataclass(frozen=True)
class Suspect:
    package: str
    version: str
    released: str
    score: float
    evidence: tuple[str, ...]
    parts: dict[str, float]
    requirements: dict[str, str] = field(default_factory=dict)  # package -> specifier, extras left out
    unchanged: tuple[str, ...] = ()  # requirements identical in the release it is compared with

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "released": self.released,
                "score": round(self.score, 4), "evidence": list(self.evidence),
                "parts": {k: round(v, 4) for k, v in self.parts.items()},
                "unchanged_requirements": list(self.unchanged)}


def _requirements(release: ReleaseRow) -> dict[str, Requirement]:
    found: dict[str, Requirement] = {}
    for text in release.requires_dist or ():
        requirement = parsed_requirement(text)
        if requirement is None:
            continue
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue  # optional: only installed when asked for by name
        found[canonicalize_name(requirement.name)] = requirement
    return found


class _Corpus:
    """The releases of the candidates' projects and of the cluster's packages, read in one query: ranking
    compares every candidate with its predecessor and every pin with its package's versions."""

    def __init__(self, store: Store, names: set[str], cutoff: datetime) -> None:
        self._by_name: dict[str, list[ReleaseRow]] = {}
        for row in releases_of(store, sorted(names), cutoff):
            self._by_name.setdefault(row.name, []).append(row)
        for rows in self._by_name.values():
            rows.sort(key=_upload_order)

    def versions(self, package: str, before: datetime) -> list[tuple[str, datetime]]:
        """(version, first upload) of the releases of ``package`` first uploaded before ``before``."""
        return [(row.version, row.upload_time) for row in self._by_name.get(package, ()) if row.upload_time < before]

    def release(self, name: str, version: str) -> ReleaseRow | None:
        wanted = _version(version)
        return next((row for row in self._by_name.get(name, ())
                     if row.version == version or (wanted is not None and _version(row.version) == wanted)), None)

    def previous(self, name: str, version: str) -> ReleaseRow | None:
        """The release first uploaded just before this one (as ``previous_release`` orders them)."""
        rows = self._by_name.get(name, [])
        found = self.release(name, version)
        if found is None:
            return None
        position = rows.index(found)
        return rows[position - 1] if position > 0 else None


def _upload_order(row: ReleaseRow) -> tuple[datetime, int, Version | str]:
    """Upload order; at the same instant, PEP 440 order (a version packaging cannot parse sorts first)."""
    parsed = _version(row.version)
    return (row.upload_time, 1, parsed) if parsed is not None else (row.upload_time, 0, row.version)


def _newest_admitted(corpus: _Corpus, package: str, requirement: Requirement, cutoff: datetime,
                     downloaded: str) -> str | None:
    """The newest version of ``package`` known by ``cutoff`` that ``requirement`` admits; the version that was
    downloaded existed by then, so it counts even when the release corpus lacks it."""
    versions = [Version(downloaded)] if _is_version(downloaded) else []
    for text, _uploaded in corpus.versions(package, cutoff):
        try:
            versions.append(Version(text))
        except InvalidVersion:
            continue
    admitted = list(requirement.specifier.filter(versions))
    return str(max(admitted)) if admitted else None


def newest_admitted(store: Store, package: str, specifier: str, day: date) -> str | None:
    """The newest release of ``package`` in the corpus by the end of ``day`` that ``specifier`` admits."""
    cutoff = datetime(day.year, day.month, day.day) + timedelta(days=1)
    versions = [v for text, _ in versions_of(store, package, cutoff) if (v := _version(text)) is not None]
    admitted = list(SpecifierSet(specifier).filter(versions))
    return str(max(admitted)) if admitted else None


def _is_version(text: str) -> bool:
    return _version(text) is not None


def rank_suspects(store: Store, cluster: dict[str, str], day: date, spiking: set[str],
                  spike_start: datetime | None = None) -> list[Suspect]:
    """Candidate releases for ``cluster`` (package -> version mostly downloaded on ``day``), best first.

    ``spiking`` is every package that spiked that day (to see whether a candidate's unchanged requirements
    spiked too); ``spike_start`` is when the spike began (default: the start of ``day``).
    """
    start = spike_start or datetime(day.year, day.month, day.day)
    cutoff = datetime(day.year, day.month, day.day) + timedelta(days=1)
    candidates = releases_requiring(store, sorted(cluster), start - timedelta(days=LOOKBACK_DAYS), cutoff)
    corpus = _Corpus(store, {release.name for release in candidates} | set(cluster), cutoff)
    suspects = [_judge(corpus, release, cluster, spiking, start, cutoff) for release in candidates]
    return sorted((s for s in suspects if s.parts["coverage"] > 0), key=lambda s: (-s.score, s.package, s.version))


def _judge(corpus: _Corpus, release: ReleaseRow, cluster: dict[str, str], spiking: set[str], start: datetime,
           cutoff: datetime) -> Suspect:
    requirements = _requirements(release)
    covered = sorted(set(requirements) & set(cluster))
    evidence = [f"requires {len(covered)} of the {len(cluster)} spiking packages: {', '.join(covered) or 'none'}"]
    matches = []
    for package in covered:
        newest = _newest_admitted(corpus, package, requirements[package], cutoff, cluster[package])
        if newest == cluster[package]:
            matches.append(package)
            evidence.append(f"{package}{requirements[package].specifier}: the newest version it admitted that day, "
                            f"{newest}, is the one downloaded")
        else:
            evidence.append(f"{package}{requirements[package].specifier} admitted {newest or 'no known version'}, "
                            f"but {cluster[package]} was downloaded")
    changed, unchanged = _changes(corpus, release, requirements, covered, evidence)
    unchanged_spiking = [p for p in unchanged if p in spiking]
    if unchanged:
        quiet = [p for p in unchanged if p not in spiking]
        evidence.append(f"unchanged requirements that did not spike: {', '.join(quiet) or 'none'}")
    days_before = (start - release.upload_time).total_seconds() / 86400
    if -GRACE_DAYS <= days_before < 0:
        days_before = 0.0
    if days_before < 0:
        evidence.append(f"released {-days_before:.1f} days after the spike began: it cannot have started it")
    else:
        evidence.append(f"released {days_before:.1f} days before the spike began")
    parts = {
        "coverage": len(covered) / len(cluster) if cluster else 0.0,
        "fingerprint": len(matches) / len(cluster) if cluster else 0.0,
        "changes": max(0.0, (len(changed) - len(unchanged_spiking)) / len(cluster)) if cluster else 0.0,
        "recency": 0.5 ** (days_before / HALF_LIFE_DAYS) if days_before >= 0 else 0.0,
    }
    score = sum(WEIGHTS[k] * v for k, v in parts.items())
    return Suspect(release.name, release.version, release.upload_time.isoformat(), score, tuple(evidence), parts,
                   {p: str(r.specifier) for p, r in requirements.items()}, tuple(unchanged))


def _previous_comparable(corpus: _Corpus, release: ReleaseRow) -> ReleaseRow | None:
    """The release before this one; for a final release, the previous final one (its own release candidates
    already carry the new requirements, so comparing with them would hide what the release changed)."""
    current = _version(release.version)
    if current is None or current.is_prerelease:
        return corpus.previous(release.name, release.version)
    earlier = [(uploaded, parsed, text) for text, uploaded in corpus.versions(release.name, release.upload_time)
               if (parsed := _version(text)) is not None and not parsed.is_prerelease and parsed != current]
    if not earlier:
        return None
    _uploaded, _parsed, text = max(earlier)
    return corpus.release(release.name, text)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _changes(corpus: _Corpus, release: ReleaseRow, requirements: dict[str, Requirement], covered: list[str],
             evidence: list[str]) -> tuple[list[str], list[str]]:
    """(the covered packages whose requirement changed, every requirement that did not change)."""
    previous = _previous_comparable(corpus, release)
    if previous is None:
        evidence.append("no earlier release in the corpus to compare requirements with")
        return [], []
    before = _requirements(previous)
    changed = [p for p in covered if p not in before or before[p].specifier != requirements[p].specifier]
    unchanged = sorted(p for p in requirements if p in before and before[p].specifier == requirements[p].specifier)
    evidence.append(f"since {previous.version}, changed requirements among the spiking: {', '.join(changed) or 'none'}")
    return changed, unchanged
