"""Resolve requirements as an installer would have on a given day, for a target Python and platform.

resolvelib (pip's resolver engine) does the backtracking; this module is its provider: candidates are the
releases with a usable file uploaded before the cutoff, not yanked (unless pinned), whose Requires-Python
admits the target; dependencies come from the chosen file's metadata, with markers evaluated for the target.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from depgraph.environment import TargetEnvironment
from depgraph.errors import BadInput, ResolutionFailed

if TYPE_CHECKING:  # the sources (requests, pypi-simple, ...) load only when a resolution needs the network
    from depgraph.sources.metadata import CoreMetadata
    from depgraph.sources.simple import ReleaseFile

MAX_ROUNDS = 20_000


class ReleaseSource(Protocol):
    """What the resolver needs from the world (an index, a recording, an in-memory test double)."""

    def files(self, name: str) -> list[ReleaseFile]: ...
    def metadata(self, file: ReleaseFile) -> CoreMetadata: ...
    def prefetch(self, names: Iterable[str]) -> None: ...
    def prefetch_metadata(self, file: ReleaseFile) -> None: ...


def parse_requirement(text: str) -> Requirement:
    """A user's requirement (``NAME``, ``NAME==X``, ``NAME[extra]>=X``), with its name made canonical."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise BadInput(f"requirement {text!r} is not valid PEP 508 ({reason})",
                       "use e.g. 'requests==2.23.0'") from exc
    if any(not spec.version.strip() for spec in requirement.specifier):  # packaging lets "foo===" through
        raise BadInput(f"requirement {text!r} has an operator without a version", "use e.g. 'requests==2.23.0'")
    if requirement.url:
        raise BadInput(f"requirement {text!r} is a direct URL; depgraph resolves names on indexes",
                       "give a name and version instead, e.g. 'requests==2.23.0'")
    requirement.name = canonicalize_name(requirement.name)
    return requirement


def root_requirements(texts: Sequence[str], target: TargetEnvironment) -> tuple[list[Requirement], list[str]]:
    """The user's requirements whose markers hold for the target (as pip skips the others), and a warning for
    each one skipped. Raises :class:`BadInput`, before anything is fetched, for one that is not PEP 508 or
    whose marker cannot be evaluated."""
    if not texts:
        raise BadInput("no requirements given", "name at least one package, e.g. 'requests==2.23.0'")
    applying, skipped = [], []
    for text in texts:
        requirement = parse_requirement(text)
        if requirement.marker is None or _root_marker_holds(text, requirement, target):
            applying.append(requirement)
        else:
            skipped.append(f"requirement {text!r} ignored: its marker does not hold for Python {target.python}"
                           f"{f' on {target.platform}' if target.platform else ''}")
    return applying, skipped


def _root_marker_holds(text: str, requirement: Requirement, target: TargetEnvironment) -> bool:
    try:
        return bool(requirement.marker and requirement.marker.evaluate({**target.markers, "extra": ""}))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise BadInput(f"requirement {text!r} has a marker that cannot be evaluated ({exc})",
                       "use e.g. 'requests; python_version < \"3\"'") from exc


@dataclass(frozen=True)
class Candidate:
    """One release of a project (with the extras asked for), and the file whose metadata speaks for it."""

    name: NormalizedName
    version: Version
    extras: frozenset[str]
    file: ReleaseFile
    files: tuple[ReleaseFile, ...]

    @property
    def identifier(self) -> str:
        return identifier(self.name, self.extras)


def identifier(name: str, extras: Iterable[str]) -> str:
    extras = sorted(extras)
    return f"{name}[{','.join(extras)}]" if extras else name


@dataclass(frozen=True)
class ResolvedPackage:
    name: NormalizedName
    version: str
    upload_time: str | None
    unknown: bool
    unknown_reason: str | None
    metadata_source: str
    file: str
    file_kinds: tuple[str, ...]
    pure_python: bool
    requires_python: str | None
    extras: tuple[str, ...]
    index: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "upload_time": self.upload_time,
                "unknown": self.unknown, "unknown_reason": self.unknown_reason,
                "metadata_source": self.metadata_source, "file": self.file, "file_kinds": list(self.file_kinds),
                "pure_python": self.pure_python, "requires_python": self.requires_python,
                "extras": list(self.extras), "index": self.index}


@dataclass(frozen=True)
class Edge:
    source: NormalizedName
    target: NormalizedName
    specifier: str
    marker: str | None
    extra: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "specifier": self.specifier,
                "marker": self.marker, "extra": self.extra}


@dataclass(frozen=True)
class Resolution:
    """What an installer would have installed: packages sorted by name, and the edges that pulled them in."""

    roots: tuple[str, ...]
    environment: TargetEnvironment
    date: str | None
    packages: tuple[ResolvedPackage, ...]
    edges: tuple[Edge, ...]
    warnings: tuple[str, ...] = ()

    def package(self, name: str) -> ResolvedPackage:
        wanted = canonicalize_name(name)
        return next(p for p in self.packages if p.name == wanted)

    def to_dict(self) -> dict[str, Any]:
        return {"roots": list(self.roots), "environment": self.environment.to_dict(), "date": self.date,
                "packages": [p.to_dict() for p in self.packages], "edges": [e.to_dict() for e in self.edges],
                "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Resolution:
        """The inverse of :meth:`to_dict` (used by the resolution cache)."""
        env = data["environment"]
        platform = None if env["platform"] == "this machine" else env["platform"]
        packages = tuple(ResolvedPackage(**{**p, "file_kinds": tuple(p["file_kinds"]), "extras": tuple(p["extras"])})
                         for p in data["packages"])
        edges = tuple(Edge(e["from"], e["to"], e["specifier"], e["marker"], e["extra"]) for e in data["edges"])
        return cls(tuple(data["roots"]), TargetEnvironment(env["python"], platform), data["date"], packages, edges,
                   tuple(data.get("warnings", ())))


@dataclass
class Provider(AbstractProvider):  # type: ignore[type-arg]
    """resolvelib provider over a :class:`ReleaseSource`, as of ``cutoff``, for ``target``."""

    source: ReleaseSource
    target: TargetEnvironment
    cutoff: datetime | None
    dependencies: dict[str, list[tuple[Requirement, str | None]]] = field(default_factory=dict)
    metadata_of: dict[tuple[str, Version], tuple[ReleaseFile, CoreMetadata]] = field(default_factory=dict)

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        if isinstance(requirement_or_candidate, Candidate):
            return requirement_or_candidate.identifier
        return identifier(canonicalize_name(requirement_or_candidate.name), requirement_or_candidate.extras)

    def get_preference(self, identifier: str, resolutions: Mapping[str, Candidate],
                       candidates: Mapping[str, Iterator[Candidate]], information: Mapping[str, Iterator[Any]],
                       backtrack_causes: Sequence[Any]) -> Any:
        pinned = any(_is_pin(info.requirement.specifier) for info in information[identifier])
        causes = {canonicalize_name(c.requirement.name) for c in backtrack_causes}
        return (not pinned, identifier.split("[", 1)[0] not in causes, identifier)

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[Requirement]],
                     incompatibilities: Mapping[str, Iterator[Candidate]]) -> list[Candidate]:
        name = NormalizedName(identifier.split("[", 1)[0])
        reqs = list(requirements[identifier])
        extras = frozenset(e for r in reqs for e in r.extras)
        specifier = SpecifierSet()
        for requirement in reqs:
            specifier &= requirement.specifier
        bad = {c.version for c in incompatibilities[identifier]}
        by_version = self._usable_files(name, allow_yanked=_is_pin(specifier))
        versions = [v for v in specifier.filter(by_version) if v not in bad]
        found = [self._candidate(name, v, extras, by_version[v]) for v in sorted(versions, reverse=True)]
        if found:
            self.source.prefetch_metadata(found[0].file)
        return found

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        _file, metadata = self.release_metadata(candidate)
        applying = applicable_requirements(metadata, candidate.extras, self.target)
        self.dependencies[candidate.identifier] = applying
        requirements = [r for r, _extra in applying]
        if candidate.extras:  # an extras candidate also needs its own base release, exactly
            requirements.append(Requirement(f"{candidate.name}=={candidate.version}"))
        self.source.prefetch(r.name for r in requirements)
        return requirements

    def release_metadata(self, candidate: Candidate) -> tuple[ReleaseFile, CoreMetadata]:
        """The metadata of the file pip would install; if that cannot tell, the first other file that can."""
        key = (candidate.name, candidate.version)
        if key not in self.metadata_of:
            others = [f for f in _by_preference(candidate.files, self.target) if f != candidate.file]
            chosen = candidate.file, self.source.metadata(candidate.file)
            for other in others:
                if not chosen[1].unknown:
                    break
                found = self.source.metadata(other)
                if not found.unknown:
                    chosen = other, found
            self.metadata_of[key] = chosen
        return self.metadata_of[key]

    def _usable_files(self, name: NormalizedName, allow_yanked: bool) -> dict[Version, list[ReleaseFile]]:
        usable: dict[Version, list[ReleaseFile]] = {}
        for file in self.source.files(name):
            if self._usable(file, allow_yanked):
                usable.setdefault(file.version, []).append(file)
        return usable

    def _usable(self, file: ReleaseFile, allow_yanked: bool) -> bool:
        if self.cutoff is not None and file.upload_time is not None and file.upload_time >= self.cutoff:
            return False
        if file.yanked and not allow_yanked:
            return False
        if file.kind == "wheel" and not any(tag in self.target.supported_tags for tag in file.tags):
            return False
        return self.target.allows_python(file.requires_python)

    def _candidate(self, name: NormalizedName, version: Version, extras: frozenset[str],
                   files: list[ReleaseFile]) -> Candidate:
        return Candidate(name, version, extras, best_file(files, self.target), tuple(files))


def best_file(files: Sequence[ReleaseFile], target: TargetEnvironment) -> ReleaseFile:
    """The file pip would install: the most specific compatible wheel, else the sdist; first index wins ties."""
    return _by_preference(files, target)[0]


def _by_preference(files: Sequence[ReleaseFile], target: TargetEnvironment) -> list[ReleaseFile]:
    """Files in pip's order of preference (a stable sort keeps the index order on ties)."""
    def rank(file: ReleaseFile) -> int:
        if file.kind == "sdist":
            return len(target.supported_tags)
        return min(target.supported_tags[t] for t in file.tags if t in target.supported_tags)
    return sorted(files, key=rank)


def applicable_requirements(metadata: CoreMetadata, extras: frozenset[str],
                            target: TargetEnvironment) -> list[tuple[Requirement, str | None]]:
    """The requirements whose markers hold for the target, each with the extra that enabled it (or None)."""
    applying: list[tuple[Requirement, str | None]] = []
    for requirement in metadata.requirements():
        requirement.name = canonicalize_name(requirement.name)
        if requirement.marker is None:
            applying.append((requirement, None))
            continue
        for extra in ("", *sorted(extras)):
            if _marker_holds(requirement, {**target.markers, "extra": extra}):
                applying.append((requirement, extra or None))
                break
    return applying


def unevaluable_markers(metadata: CoreMetadata, target: TargetEnvironment) -> list[str]:
    """Requirements whose marker cannot be evaluated (``python_version ~= ''``): the resolver leaves them out."""
    environment = {**target.markers, "extra": ""}
    found = []
    for requirement in metadata.requirements():
        try:
            if requirement.marker is not None:
                requirement.marker.evaluate(environment)
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            found.append(str(requirement))
    return found


def _marker_holds(requirement: Requirement, environment: dict[str, str]) -> bool:
    try:
        return bool(requirement.marker and requirement.marker.evaluate(environment))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return False


def _is_pin(specifier: SpecifierSet) -> bool:
    return any(s.operator in ("==", "===") and not s.version.endswith(".*") for s in specifier)


class _ProgressReporter(BaseReporter):  # type: ignore[type-arg]
    def __init__(self, progress: Callable[[str], None]) -> None:
        self.progress = progress

    def pinning(self, candidate: Candidate) -> None:
        self.progress(f"{candidate.name} {candidate.version}")


def resolve(requirements: Sequence[str], source: ReleaseSource, target: TargetEnvironment,
            cutoff: datetime | None, date_text: str | None = None,
            progress: Callable[[str], None] | None = None) -> Resolution:
    """Resolve ``requirements`` against ``source`` as of ``cutoff`` for ``target``."""
    parsed, skipped = root_requirements(requirements, target)
    provider = Provider(source, target, cutoff)
    source.prefetch(r.name for r in parsed)
    reporter = _ProgressReporter(progress) if progress else BaseReporter()
    try:
        result = Resolver(provider, reporter).resolve(parsed, max_rounds=MAX_ROUNDS)
    except ResolutionImpossible as exc:
        raise ResolutionFailed(f"no resolution for {' '.join(requirements)} on Python {target.python}"
                               f"{f' as of {date_text}' if date_text else ''}: {_conflict(exc)}",
                               "loosen a requirement, or pick another --date/--python") from exc
    except ResolutionTooDeep as exc:
        raise ResolutionFailed(f"resolution of {' '.join(requirements)} gave up after {MAX_ROUNDS} rounds",
                               "pin some requirements") from exc
    return _resolution(parsed, result.mapping, provider, date_text, skipped)


def _conflict(exc: ResolutionImpossible) -> str:
    causes = []
    for cause in exc.causes[:4]:
        parent = cause.parent
        who = f"{parent.name} {parent.version} requires" if parent is not None else "requested"
        causes.append(f"{who} {cause.requirement}")
    return "no release fits " + "; ".join(causes) + " (upload date, Requires-Python, yanks and wheel tags counted)"


def _resolution(roots: list[Requirement], mapping: Mapping[str, Candidate], provider: Provider,
                date_text: str | None, warnings_first: Sequence[str] = ()) -> Resolution:
    extras_of: dict[str, set[str]] = {}
    for candidate in mapping.values():
        extras_of.setdefault(candidate.name, set()).update(candidate.extras)
    packages, edges, warnings = [], set(), list(warnings_first)
    for key, candidate in mapping.items():
        for requirement, extra in provider.dependencies.get(key, []):
            edges.add(Edge(candidate.name, NormalizedName(requirement.name), str(requirement.specifier),
                           str(requirement.marker) if requirement.marker else None, extra))
        if candidate.extras:
            continue
        file, metadata = provider.release_metadata(candidate)
        if metadata.unknown:
            warnings.append(f"{candidate.name} {candidate.version}: dependencies unknown ({metadata.unknown_reason})")
        warnings.extend(f"{candidate.name} {candidate.version}: Requires-Dist {line!r} is not valid PEP 508; "
                        "its version bound is ignored" for line in metadata.invalid_lines)
        warnings.extend(f"{candidate.name} {candidate.version}: Requires-Dist {line!r} has a marker that cannot be "
                        "evaluated; it is left out" for line in unevaluable_markers(metadata, provider.target))
        packages.append(_resolved_package(candidate, file, metadata, sorted(extras_of[candidate.name])))
    return Resolution(
        roots=tuple(sorted({canonicalize_name(r.name) for r in roots})),
        environment=provider.target,
        date=date_text,
        packages=tuple(sorted(packages, key=lambda p: p.name)),
        edges=tuple(sorted(edges, key=lambda e: (e.source, e.target, e.extra or "", e.marker or ""))),
        warnings=tuple(sorted(warnings)),
    )


def _resolved_package(candidate: Candidate, metadata_file: ReleaseFile, metadata: CoreMetadata,
                      extras: list[str]) -> ResolvedPackage:
    first_upload = min((f.upload_time for f in candidate.files if f.upload_time), default=None)
    return ResolvedPackage(
        name=candidate.name,
        version=str(candidate.version),
        upload_time=first_upload.isoformat().replace("+00:00", "Z") if first_upload else None,
        unknown=metadata.unknown,
        unknown_reason=metadata.unknown_reason,
        metadata_source=metadata.source if metadata_file == candidate.file
        else f"{metadata.source} of {metadata_file.filename}",
        file=candidate.file.filename,
        file_kinds=tuple(sorted({f.kind for f in candidate.files})),
        pure_python=any(f.is_pure_python for f in candidate.files),
        requires_python=metadata.requires_python or candidate.file.requires_python,
        extras=tuple(extras),
        index=candidate.file.index,
    )


@dataclass(frozen=True)
class ResolveRequest:
    """Everything a resolution depends on; also the key of the resolution cache."""

    requirements: tuple[str, ...]
    python: str | None = None
    platform: str | None = None
    date: str | None = None
    indexes: tuple[str, ...] = ("pypi",)  # pypi | piwheels | pip | URL, in pip's priority order
    pypi_url: str | None = None
    piwheels_url: str | None = None

    def cache_key(self, target: TargetEnvironment) -> str:
        from depgraph import __version__

        settings = [os.environ.get(name) for name in ("DEPGRAPH_PYPI_URL", "DEPGRAPH_PIWHEELS_URL",
                                                      "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")]
        payload = json.dumps([__version__, sorted(self.requirements), target.python, target.platform, self.date,
                              list(self.indexes), self.pypi_url, self.piwheels_url, settings])
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


def resolve_requirements(request: ResolveRequest, *, offline: bool = False, use_cache: bool = True,
                         progress: Callable[[str], None] | None = None) -> Resolution:
    """Resolve against the configured indexes through the HTTP cache.

    A resolution for a day that has ended is kept for good: files uploaded before a past date never change
    (yanks aside; ``use_cache=False`` asks again).
    """
    from depgraph.environment import parse_cutoff
    from depgraph.sources.paths import cache_dir, keep

    target = TargetEnvironment.create(request.python, request.platform)
    root_requirements(request.requirements, target)  # a bad requirement fails before anything is fetched
    cutoff = parse_cutoff(request.date)
    stored = cache_dir() / "resolutions" / f"{request.cache_key(target)}.json"
    final = cutoff is not None and cutoff <= datetime.now(UTC)
    if final and use_cache and stored.exists():
        try:
            return Resolution.from_dict(json.loads(stored.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            stored.unlink(missing_ok=True)
    resolution = _resolve_live(request, target, cutoff, offline, use_cache, progress)
    if final:
        keep(stored, json.dumps(resolution.to_dict()))
    return resolution


def _resolve_live(request: ResolveRequest, target: TargetEnvironment, cutoff: datetime | None, offline: bool,
                  use_cache: bool, progress: Callable[[str], None] | None) -> Resolution:
    from depgraph.sources.finder import Index, IndexFinder
    from depgraph.sources.http import Http
    from depgraph.sources.indexes import select_indexes
    from depgraph.sources.metadata import MetadataCache

    indexes = [Index(name, url) for name, url in
               select_indexes(list(request.indexes), request.pypi_url, request.piwheels_url)]
    http = Http(offline=offline, use_cache=use_cache)
    finder = IndexFinder(http, indexes, MetadataCache())
    try:
        return resolve(request.requirements, finder, target, cutoff, request.date, progress)
    finally:
        finder.close()
        http.close()
