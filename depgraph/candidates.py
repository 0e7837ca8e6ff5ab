"""Releases from the indexes, added to the store's release corpus for one investigation.

The store's ``releases`` table (a ``distribution_metadata`` export) may lack what an investigation needs: the
release a user suspects (``--candidates NAME...``), the projects whose pages depgraph has cached while
resolving, or the spiking release itself (whose dependencies coherence needs). These are read from the index
(or only from the cache, offline) through the same readers as the resolver, and shown to the queries as rows of
a temporary ``releases`` view over the store's table: the store file itself is never written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from depgraph.downloads.store import Store, has_table
from depgraph.errors import DepgraphError
from depgraph.sources.indexes import PYPI_SIMPLE_ENV

LOOKBACK_DAYS = 30  # as far back as attribution looks for candidate releases
FETCHED = "fetched"  # the file_sha256 of rows that came from an index rather than an ingested file
PACKAGETYPES = {"wheel": "bdist_wheel", "sdist": "sdist"}

Row = tuple[Any, ...]  # a row of the releases table, in its column order
RELEASE_COLUMNS = ("source", "name", "display_name", "version", "upload_time", "requires_dist", "requires_python",
                   "packagetype", "filename", "file_sha256")


@dataclass(frozen=True)
class CandidateSource:
    """Where to look for releases beyond the store: named projects, cached projects, and the index settings."""

    names: tuple[str, ...] = ()
    include_cached: bool = True
    offline: bool = False
    pypi_url: str | None = None

    def fetch(self, day: date, wanted: dict[str, str]) -> CandidateReleases:
        """Rows for the named and cached projects' releases of the ``LOOKBACK_DAYS`` before ``day`` (and the
        release before them), and for ``wanted`` (package -> version: the downloaded releases).

        What was read from an index for a day that has ended is kept (``kept_rows``): the files uploaded before
        it do not change, so a second investigation of that day reads neither the index nor the HTTP stack."""
        from depgraph.sources.metadata import MetadataCache

        notes: list[str] = []
        rows: list[Row] = cached_rows(MetadataCache(), day) if self.include_cached else []
        asked = [("candidate", name, day.isoformat()) for name in self.names]
        asked += [("release", name, version) for name, version in sorted(wanted.items())]
        kept = {key: found for key in asked if (found := kept_rows(self._key(key), day)) is not None}
        missing = [key for key in asked if key not in kept]
        if missing:
            kept.update(self._read(missing, day, notes))
        for key in asked:
            rows += kept.get(key, [])
        return CandidateReleases(tuple(rows), tuple(notes))

    def _read(self, keys: list[tuple[str, str, str]], day: date, notes: list[str]) -> dict[tuple[str, str, str],
                                                                                          list[Row]]:
        """Read from the index what is not kept; a named candidate that cannot be read is an error, a fallback
        release only a note."""
        from depgraph.sources.finder import Index, IndexFinder
        from depgraph.sources.http import Http
        from depgraph.sources.indexes import pypi_simple_url
        from depgraph.sources.metadata import MetadataCache

        http = Http(offline=self.offline)
        finder = IndexFinder(http, [Index("pypi", pypi_simple_url(self.pypi_url))], MetadataCache())
        found: dict[tuple[str, str, str], list[Row]] = {}
        try:
            for key in keys:
                kind, name, detail = key
                try:
                    found[key] = (candidate_rows(finder, name, day) if kind == "candidate"
                                  else release_rows(finder, name, detail))
                except DepgraphError as error:
                    if kind == "candidate":
                        raise
                    notes.append(f"could not read the dependencies of {name} {detail} from the index: {error}")
                    continue
                keep_rows(self._key(key), found[key])
        finally:
            finder.close()
            http.close()
        return found

    def _key(self, asked: tuple[str, str, str]) -> str:
        """The file name of what was read for ``asked``, under the settings that chose the index."""
        from depgraph import __version__

        payload = json.dumps([__version__, *asked, self.pypi_url, os.environ.get(PYPI_SIMPLE_ENV)])
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


def kept_rows(key: str, day: date) -> list[Row] | None:
    """Rows read from an index after ``day`` had ended, kept under ``key`` (None: not kept, or kept too early)."""
    try:
        kept = json.loads(_kept_path(key).read_text(encoding="utf-8"))
        read_at = datetime.fromisoformat(kept["read_at"])
        if read_at < datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1):
            return None
        rows = [(*row[:4], datetime.fromisoformat(row[4]), *row[5:]) for row in kept["rows"]]
        if any(len(row) != len(RELEASE_COLUMNS) for row in rows):
            return None
        return rows
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def keep_rows(key: str, rows: list[Row]) -> None:
    """Keep rows read from an index, with the moment they were read."""
    from depgraph.sources.paths import keep

    keep(_kept_path(key), json.dumps({"read_at": datetime.now(timezone.utc).isoformat(),
                                      "rows": [[*row[:4], row[4].isoformat(), *row[5:]] for row in rows]}))


def _kept_path(key: str) -> Path:
    from depgraph.sources.paths import cache_dir

    return cache_dir() / "releases" / f"{key}.json"


@dataclass(frozen=True)
class CandidateReleases:
    rows: tuple[Row, ...] = ()
    notes: tuple[str, ...] = ()


def candidate_rows(finder: Any, name: str, day: date) -> list[Row]:
    """The releases of ``name`` first uploaded in the lookback window before the end of ``day``, and the final
    release before the window (what attribution compares the first of them with)."""
    files = finder.files(name)
    cutoff = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1)
    released = _release_times(files, cutoff)
    window_start = cutoff - timedelta(days=LOOKBACK_DAYS + 1)
    chosen = {version for version, uploaded in released.items() if uploaded >= window_start}
    earlier = [(uploaded, version) for version, uploaded in released.items()
               if uploaded < window_start and not version.is_prerelease]
    if chosen and earlier:
        chosen.add(max(earlier)[1])
    return [row for version in sorted(chosen) for row in _rows(finder, files, version, cutoff)]


def release_rows(finder: Any, name: str, version: str) -> list[Row]:
    """Every file of ``name`` ``version`` with its metadata, and every other release's files without it (their
    upload times tell which versions existed on a day)."""
    from packaging.version import Version

    files = finder.files(name)
    wanted = Version(version)
    rows = [_row(file, None) for file in files if file.version != wanted and file.upload_time]
    return rows + _rows(finder, files, wanted, None)


def _release_times(files: Iterable[Any], cutoff: datetime) -> dict[Any, datetime]:
    times: dict[Any, datetime] = {}
    for file in files:
        if file.upload_time is not None and file.upload_time < cutoff:
            times[file.version] = min(times.get(file.version, file.upload_time), file.upload_time)
    return times


def _rows(finder: Any, files: list[Any], version: Any, cutoff: datetime | None) -> list[Row]:
    """A row per file of the release uploaded before ``cutoff``, with the metadata of the first file that tells."""
    mine = [f for f in files if f.version == version and f.upload_time is not None
            and (cutoff is None or f.upload_time < cutoff)]
    metadata = None
    for file in sorted(mine, key=lambda f: f.kind != "wheel"):
        found = finder.metadata(file)
        if found.unknown_reason is None:
            metadata = found
            break
    return [_row(file, metadata) for file in mine]


def _row(file: Any, metadata: Any) -> Row:
    uploaded = file.upload_time.astimezone(timezone.utc).replace(tzinfo=None)
    return _release_row(file.project, str(file.version), uploaded, metadata, file.requires_python, file.kind,
                        file.filename)


def _release_row(project: str, version: str, uploaded: datetime, metadata: Any, requires_python: str | None,
                 kind: str, filename: str) -> Row:
    """A row in the releases table's column order (the order of the temporary table in ``extra_releases``);
    ``metadata`` None: the file's dependencies were not read."""
    requires = list(metadata.requires_dist) if metadata is not None else None
    python = (metadata.requires_python if metadata is not None else None) or requires_python
    return ("pypi", canonicalize_name(project), project, version, uploaded, requires, python,
            PACKAGETYPES.get(kind, kind), filename, FETCHED)


def cached_rows(cache: Any, day: date) -> list[Row]:
    """The releases depgraph has read metadata of (while resolving) that were uploaded in the lookback window
    before the end of ``day``, with the same projects' earlier cached releases to compare them with."""
    cutoff = datetime(day.year, day.month, day.day) + timedelta(days=1)
    window_start = cutoff - timedelta(days=LOOKBACK_DAYS + 1)
    described = [(file, meta, _naive_utc(file["upload_time"])) for file, meta in cache.described()
                 if file.get("upload_time") and meta.unknown_reason is None]
    recent = {file["project"] for file, _, uploaded in described if window_start <= uploaded < cutoff}
    return [_release_row(file["project"], file["version"], uploaded, meta, file.get("requires_python"), file["kind"],
                         file["filename"])
            for file, meta, uploaded in described if file["project"] in recent and uploaded < cutoff]


def _naive_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


@contextmanager
def extra_releases(store: Store, rows: Iterable[Row]) -> Iterator[None]:
    """Show ``rows`` to every query of ``releases`` on this connection, as if ingested, until the block ends."""
    rows = list(rows)
    if not rows:
        yield
        return
    connection = store.connection
    database = connection.execute("SELECT current_database()").fetchone()[0]
    had_table = has_table(store, "releases")
    connection.execute("""CREATE OR REPLACE TEMP TABLE depgraph_fetched_releases (
        source VARCHAR, name VARCHAR, display_name VARCHAR, version VARCHAR, upload_time TIMESTAMP,
        requires_dist VARCHAR[], requires_python VARCHAR, packagetype VARCHAR, filename VARCHAR,
        file_sha256 VARCHAR)""")
    columns = [list(column) for column in zip(*rows, strict=True)]  # one statement, not one per row
    connection.execute("INSERT INTO depgraph_fetched_releases SELECT " + ", ".join(
        f"unnest(${i})" for i in range(1, len(columns) + 1)), columns)
    stored = f'SELECT * FROM "{database}".main.releases UNION ALL ' if had_table else ""
    connection.execute(f"CREATE OR REPLACE TEMP VIEW releases AS {stored}"
                       "SELECT * FROM depgraph_fetched_releases")
    store.known_tables.clear()
    try:
        yield
    finally:
        connection.execute("DROP VIEW IF EXISTS temp.main.releases")
        connection.execute("DROP TABLE IF EXISTS temp.main.depgraph_fetched_releases")
        store.known_tables.clear()

