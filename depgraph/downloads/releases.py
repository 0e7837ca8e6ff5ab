"""Queries over the release-metadata corpus (the ``releases`` table: one row per uploaded file, as in BigQuery's
``pypi.distribution_metadata``), all aggregated inside DuckDB.

A *release* is a (name, version) pair. Its time is the upload time of its first file, so a wheel added months
later does not move it; its ``requires_dist`` is the union of its files' (a wheel and an sdist may spell the same
requirement differently, or differ); its ``requires_python`` is that of its first file that says one. Times are
naive datetimes in UTC; an aware datetime given to a query is converted to UTC first, a naive one is taken as UTC.

Requirement names: ``releases_requiring`` first narrows the releases of the window in SQL to those with a
requirement whose leading name token, normalised as PEP 503 does, is one of the packages asked for (the query of
``depgraph.downloads.definitions.releases_query``, the one ``depgraph bigquery`` runs on BigQuery's
``distribution_metadata``, here transpiled for DuckDB); then each of their distinct requirement strings naming
such a token is parsed once with ``packaging``, and its name canonicalised. A string ``packaging`` cannot parse
(legacy ``pytz (>dev)``) still names its leading token, as pip's old parser read it. The strings that match go
back to DuckDB as one list parameter, and the releases holding any of them are aggregated there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from functools import lru_cache
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depgraph.downloads.filenames import canonical_list, canonical_name
from depgraph.downloads.store import Store, has_table
from depgraph.errors import BadInput, StoreError
from depgraph.sources.names import LEADING_NAME

# one row per release among the files kept by {where}: first upload, union of requirements, first requires_python
RELEASE_AGGREGATE = """
    SELECT name, arg_min(display_name, upload_time) AS display_name, version, min(upload_time) AS uploaded,
           list_sort(list_distinct(flatten(list(requires_dist)))) AS requires_dist,
           arg_min(requires_python, upload_time) FILTER (WHERE requires_python IS NOT NULL) AS requires_python,
           list_sort(list_distinct(list(packagetype))) AS packagetypes
    FROM releases
    WHERE {where}
    GROUP BY name, version
    HAVING {having}
    ORDER BY uploaded, name, version"""

# the releases with a file uploaded in [start, end): the candidates whose first upload may lie in the window
WINDOW = ("(name, version) IN (SELECT DISTINCT (name, version) FROM releases "
          "WHERE upload_time >= $start AND upload_time < $end {source})")


@dataclass(frozen=True)
class ReleaseRow:
    """One release: ``name`` in PEP 503 form, ``display_name`` as its first file spells it, ``upload_time`` of
    its first file (naive UTC), the union of its files' ``requires_dist`` (sorted), and its files' package types."""

    name: str
    display_name: str
    version: str
    upload_time: datetime
    requires_dist: tuple[str, ...]
    requires_python: str | None
    packagetypes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "display_name": self.display_name, "version": self.version,
                "upload_time": self.upload_time.isoformat() + "Z", "requires_dist": list(self.requires_dist),
                "requires_python": self.requires_python, "packagetypes": list(self.packagetypes)}


def releases_between(store: Store, start: datetime | date, end: datetime | date, *,
                     source: str | None = None) -> list[ReleaseRow]:
    """The releases first uploaded in [start, end), oldest first."""
    params = _window(store, start, end, source)
    return _aggregate(store, _where(WINDOW, source), "min(upload_time) >= $start", params)


def releases_requiring(store: Store, packages: list[str], start: datetime | date, end: datetime | date, *,
                       source: str | None = None) -> list[ReleaseRow]:
    """The releases first uploaded in [start, end) whose ``requires_dist`` names any of ``packages`` (compared as
    PEP 503 names; with or without a version specifier, marker or extra), oldest first."""
    wanted = _canonical_packages(packages)
    params = {**_window(store, start, end, source), "wanted": wanted}
    queries = _requiring_queries(source is not None)
    matching = _matching_requirements(store, queries[1], wanted, params)
    if not matching:
        return []
    having = "min(upload_time) >= $start AND bool_or(list_has_any(requires_dist, $matching))"
    where = _where(f"(name, version) IN (SELECT name, version FROM ({queries[0]}))", source)
    return _aggregate(store, where, having, {**params, "matching": matching})


@lru_cache(maxsize=2)
def _requiring_queries(by_source: bool) -> tuple[str, str]:
    """DuckDB SQL, from the one definition (transpiled once, see ``definitions.transpiled``): the files of the
    window's releases that require ``$wanted`` by leading token, and the distinct requirement strings of those
    files that do."""
    from depgraph.downloads.definitions import leading_name, releases_sql, transpiled

    table = "(SELECT * FROM releases WHERE source = @source)" if by_source else "releases"
    files = transpiled(releases_sql("@wanted", table=table), "duckdb")
    leading = transpiled(f"SELECT {leading_name('requirement')}", "duckdb").removeprefix("SELECT ")
    strings = (f"SELECT DISTINCT requirement FROM ({files}) AS f, unnest(f.requires_dist) AS t(requirement) "
               f"WHERE {leading} IN (SELECT unnest($wanted))")
    return files, strings


def releases_of(store: Store, names: list[str], before: datetime | date, *,
                source: str | None = None) -> list[ReleaseRow]:
    """Every release of the projects ``names`` first uploaded before ``before``: one query for many lookups."""
    _require_table(store)
    projects = sorted({_project(name) for name in names})
    params = {"names": projects, "before": _utc(before), **_source(source)}
    return _aggregate(store, _where("name IN (SELECT unnest($names))", source), "min(upload_time) < $before",
                      params)


def previous_release(store: Store, name: str, version: str, *, source: str | None = None) -> ReleaseRow | None:
    """The release of the same project first uploaded just before ``version`` (None when it is the first).

    Releases first uploaded at the same instant are ordered by their versions (PEP 440, via ``packaging``).
    """
    project = _project(name)
    uploads = _first_uploads(store, project, source)
    target = _find_version(uploads, version)
    if target is None:
        raise BadInput(f"no release {project} {version} in the release metadata",
                       "ingest a distribution_metadata export that holds it: depgraph ingest FILE")
    key = _order_key(target, uploads[target])
    earlier = [v for v, at in uploads.items() if _order_key(v, at) < key]
    if not earlier:
        return None
    previous = max(earlier, key=lambda v: _order_key(v, uploads[v]))
    return _aggregate(store, _where("name = $name AND version = $version", source), "TRUE",
                      {"name": project, "version": previous, **_source(source)})[0]


def versions_of(store: Store, name: str, before: datetime | date, *,
                source: str | None = None) -> list[tuple[str, datetime]]:
    """(version, first upload time) of each release of ``name`` first uploaded before ``before``, oldest first."""
    limit = _utc(before)
    uploads = _first_uploads(store, _project(name), source)
    return sorted(((v, at) for v, at in uploads.items() if at < limit), key=lambda item: _order_key(*item))


def requirement_name(requirement: str) -> str | None:
    """The PEP 503 name a requirement string names, via ``packaging``; a string it cannot parse names its leading
    token (legacy ``pytz (>dev)``), and one without any name gives None."""
    return _requirement_name(requirement)


@lru_cache(maxsize=1 << 16)
def parsed_requirement(requirement: str) -> Requirement | None:
    """A corpus requirement string parsed by ``packaging``, once per distinct string (releases of a project repeat
    most of their predecessors'), or None when it cannot be parsed."""
    try:
        return Requirement(requirement)
    except InvalidRequirement:
        return None


@lru_cache(maxsize=1 << 16)
def _requirement_name(requirement: str) -> str | None:
    parsed = parsed_requirement(requirement)
    if parsed is not None:
        return canonicalize_name(parsed.name)
    match = LEADING_NAME.match(requirement)
    return canonicalize_name(match.group(1)) if match else None


# --- helpers --------------------------------------------------------------------------------------------------

def _require_table(store: Store) -> None:
    if not has_table(store, "releases"):
        raise StoreError(f"the store {store.path} predates release metadata (an older schema opened read-only)",
                         "open it once for writing, e.g. depgraph ingest a distribution_metadata export")


def _utc(value: datetime | date) -> datetime:
    """A naive UTC datetime: aware ones are converted, naive ones are UTC already, a date is its midnight."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _window(store: Store, start: datetime | date, end: datetime | date, source: str | None) -> dict[str, Any]:
    _require_table(store)
    first, last = _utc(start), _utc(end)
    if first > last:
        raise BadInput(f"the window starts at {first} after it ends at {last}", "swap the start and the end")
    return {"start": first, "end": last, **_source(source)}


def _source(source: str | None) -> dict[str, Any]:
    return {"source": source} if source else {}


def _where(condition: str, source: str | None) -> str:
    """``condition`` (which may hold a ``{source}`` slot) restricted to ``source``'s rows when one is given."""
    restriction = "AND source = $source" if source else ""
    return f"{condition.format(source=restriction)} {restriction}"


def _aggregate(store: Store, where: str, having: str, params: dict[str, Any]) -> list[ReleaseRow]:
    rows = store.connection.execute(RELEASE_AGGREGATE.format(where=where, having=having), params).fetchall()
    return [ReleaseRow(name, display, version, uploaded, tuple(requires), python, tuple(types))
            for name, display, version, uploaded, requires, python, types in rows]


def _canonical_packages(packages: list[str]) -> list[str]:
    names = canonical_list(packages)
    if not names:
        raise BadInput("no packages given to look for in requirements", "name at least one, e.g. flask")
    return names


def _matching_requirements(store: Store, strings: str, wanted: list[str], params: dict[str, Any]) -> list[str]:
    """The requirement strings ``strings`` (SQL) finds that name one of ``wanted`` once parsed by ``packaging``."""
    candidates = store.connection.execute(strings, params).fetchall()
    return sorted(text for (text,) in candidates if requirement_name(text) in wanted)


def _project(name: str) -> str:
    project = canonical_name(name)
    if project is None:
        raise BadInput(f"{name!r} is not a valid project name", "use e.g. zope-interface")
    return project


def _first_uploads(store: Store, project: str, source: str | None) -> dict[str, datetime]:
    """Each version of ``project`` with the upload time of its first file."""
    _require_table(store)
    rows = store.connection.execute(
        f"SELECT version, min(upload_time) FROM releases WHERE {_where('name = $name', source)} GROUP BY version",
        {"name": project, **_source(source)}).fetchall()
    return dict(rows)


def _find_version(uploads: dict[str, datetime], version: str) -> str | None:
    """``version`` as the store spells it: the same string, else the same PEP 440 version (``1.0`` is ``1.0.0``)."""
    if version in uploads:
        return version
    wanted = _parsed(version)
    return next((v for v in uploads if wanted is not None and _parsed(v) == wanted), None)


def _parsed(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


def _order_key(version: str, uploaded: datetime) -> tuple[datetime, int, Version | str]:
    """Upload order; at the same instant, PEP 440 order (a version packaging cannot parse sorts first)."""
    parsed = _parsed(version)
    return (uploaded, 1, parsed) if parsed is not None else (uploaded, 0, version)


def release(store: Store, name: str, version: str, *, source: str | None = None) -> ReleaseRow | None:
    """One release of the corpus (its files' requirements united), or None when the corpus lacks it."""
    _require_table(store)
    params = {"name": _project(name), "version": version, **_source(source)}
    found = _aggregate(store, _where("name = $name AND version = $version", source), "TRUE", params)
    return found[0] if found else None


def release_filenames(store: Store, name: str, version: str, *, source: str | None = None) -> list[str]:
    """The files the corpus says the release had on its index (wheels and sdists), sorted."""
    _require_table(store)
    params = {"name": _project(name), "version": version, **_source(source)}
    rows = store.connection.execute(
        f"SELECT DISTINCT filename FROM releases WHERE {_where('name = $name AND version = $version', source)} "
        "AND filename IS NOT NULL ORDER BY filename", params).fetchall()
    return [row[0] for row in rows]
