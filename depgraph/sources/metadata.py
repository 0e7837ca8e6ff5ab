"""A release file's dependencies: PEP 658 metadata, else the wheel's METADATA, else the sdist's PKG-INFO
or egg-info ``requires.txt``. A file whose dependencies cannot be known is reported as unknown.

Answers are cached for good per file URL and hash: a published file never changes.
"""

from __future__ import annotations

import codecs
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.metadata import RawMetadata, parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:  # the HTTP stack is imported when a file is fetched: reading the cache needs none of it
    from depgraph.sources.archives import SdistMetadata
    from depgraph.sources.http import Http
from depgraph.sources.names import LEADING_NAME
from depgraph.sources.paths import cache_dir, cache_error
from depgraph.sources.simple import ReleaseFile

DYNAMIC_REQUIRES_MIN = Version("2.2")  # Metadata 2.2 made sdist fields trustworthy unless marked Dynamic


@dataclass(frozen=True)
class CoreMetadata:
    """Requires-Dist of one file, where it was read from, and why it is unknown when it is."""

    requires_dist: tuple[str, ...]
    requires_python: str | None
    source: str  # core-metadata | wheel | sdist-pkg-info | sdist-requires-txt | sdist-egg-info | unknown
    unknown_reason: str | None = None
    invalid_lines: tuple[str, ...] = ()

    @property
    def unknown(self) -> bool:
        return self.unknown_reason is not None

    def requirements(self) -> list[Requirement]:
        return [Requirement(line) for line in self.requires_dist]


# byte-order marks a metadata file may start with (UTF-32 first: its little-endian mark begins like UTF-16's)
BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
                    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def parse_metadata_file(data: bytes, source: str) -> CoreMetadata:
    """Parse a METADATA/PKG-INFO file's bytes (any encoding) into valid requirements, keeping bad lines aside.

    Bytes that are not core metadata at all (an HTML error page, an empty or binary file) give unknown
    dependencies, never none. Requires-Dist lines that are not UTF-8 are read as Latin-1, as pip reads them.
    """
    raw, unparsed = email_fields(data)
    if not is_core_metadata(raw):
        return unknown(f"the {source} file is not core metadata (no Metadata-Version or Name field)")
    good, bad = _valid_requirements([*raw.get("requires_dist", []), *unparsed.get("requires-dist", [])])
    return CoreMetadata(tuple(good), raw.get("requires_python"), source, None, tuple(bad))


def email_fields(data: bytes) -> tuple[RawMetadata, dict[str, list[str]]]:
    """packaging's ``parse_email``, honouring a byte-order mark (a METADATA written by a Windows editor)."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                return parse_email(data.decode(encoding))
            except UnicodeDecodeError:
                break
    return parse_email(data)


def is_core_metadata(raw: RawMetadata) -> bool:
    """Whether parsed headers are a METADATA/PKG-INFO file: every version of the format has these fields."""
    return "metadata_version" in raw or "name" in raw


# PEP 508's name rule: the name a legacy requirement string starts with, when packaging cannot parse it whole


def _valid_requirements(lines: list[str]) -> tuple[list[str], list[str]]:
    """Valid requirements, and the invalid lines set aside. An invalid version specifier (``pytz (>dev)``,
    which older pips accepted) keeps the dependency on the name, with its marker, and no version bound,
    as uv does; the line is still reported as invalid."""
    good, bad = [], []
    for line in lines:
        try:
            good.append(str(Requirement(line)))
        except InvalidRequirement:
            bad.append(line)
            repaired = _without_specifier(line)
            if repaired:
                good.append(repaired)
    return good, bad


def _without_specifier(line: str) -> str | None:
    name = LEADING_NAME.match(line)
    if name is None:
        return None
    marker = line.split(";", 1)[1].strip() if ";" in line else ""
    try:
        return str(Requirement(f"{name.group(1)}; {marker}" if marker else name.group(1)))
    except InvalidRequirement:
        return None


def requires_txt_to_requires_dist(text: str) -> list[str]:
    """Turn setuptools' ``requires.txt`` (``[extra]``, ``[:marker]``, ``[extra:marker]`` sections) into PEP 508."""
    lines: list[str] = []
    extra, marker = "", ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, marker = line[1:-1].partition(":")
            extra, marker = extra.strip(), marker.strip()
            continue
        conditions = [f"({marker})"] if marker else []
        if extra:
            conditions.append(f'extra == "{extra}"')
        lines.append(f"{line}; {' and '.join(conditions)}" if conditions else line)
    return lines


def metadata_from_sdist(found: SdistMetadata) -> CoreMetadata:
    """Decide what an sdist's own files say of its dependencies, or that they cannot say."""
    pkg_info = parse_metadata_file(found.pkg_info, "sdist-pkg-info") if found.pkg_info else None
    raw: RawMetadata = email_fields(found.pkg_info)[0] if found.pkg_info else {}
    version = _metadata_version(raw.get("metadata_version"))
    dynamic = {d.lower() for d in raw.get("dynamic", [])}
    if pkg_info and version >= DYNAMIC_REQUIRES_MIN and "requires-dist" not in dynamic:
        return pkg_info
    requires_python = pkg_info.requires_python if pkg_info else None
    if found.requires_txt is not None:
        text = found.requires_txt.decode("utf-8", errors="replace")
        good, bad = _valid_requirements(requires_txt_to_requires_dist(text))
        return CoreMetadata(tuple(good), requires_python, "sdist-requires-txt", None, tuple(bad))
    if found.egg_info_pkg_info is not None:  # setuptools writes requires.txt only when there are requirements
        return CoreMetadata((), requires_python, "sdist-egg-info")
    if pkg_info and pkg_info.requires_dist:
        return pkg_info
    return CoreMetadata((), requires_python, "unknown", "the sdist declares no dependency metadata")


def _metadata_version(text: str | None) -> Version:
    try:
        return Version(text or "1.0")
    except InvalidVersion:
        return Version("1.0")


def unknown(reason: str) -> CoreMetadata:
    return CoreMetadata((), None, "unknown", reason)


class MetadataCache:
    """A small SQLite table: file sha256 (or URL) -> parsed CoreMetadata (published files never change)."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or cache_dir() / "metadata.sqlite"
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute("SELECT key, value FROM metadata LIMIT 0")  # a table of that name, but not ours
        except (sqlite3.Error, OSError) as exc:
            raise cache_error(path, exc) from exc

    @staticmethod
    def key(file: ReleaseFile) -> str:
        """The file's sha256 when the index gives it (the same bytes on two indexes share it), else its URL."""
        return f"sha256:{file.sha256}" if file.sha256 else file.url

    def get(self, file: ReleaseFile) -> CoreMetadata | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM metadata WHERE key = ?", (self.key(file),)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return CoreMetadata(tuple(data["requires_dist"]), data["requires_python"], data["source"],
                            data["unknown_reason"], tuple(data["invalid_lines"]))

    def put(self, file: ReleaseFile, meta: CoreMetadata) -> None:
        value = json.dumps({"requires_dist": meta.requires_dist, "requires_python": meta.requires_python,
                            "source": meta.source, "unknown_reason": meta.unknown_reason,
                            "invalid_lines": meta.invalid_lines, "file": _describe(file)})
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO metadata VALUES (?, ?)", (self.key(file), value))

    def described(self) -> list[tuple[dict[str, Any], CoreMetadata]]:
        """Every cached file that says which release it belongs to (project, version, filename, kind,
        upload_time), with its metadata: the releases depgraph has read while resolving."""
        with self._lock:
            values = [row[0] for row in self._db.execute("SELECT value FROM metadata")]
        found = []
        for value in values:
            data = json.loads(value)
            if isinstance(data.get("file"), dict):
                found.append((data["file"], CoreMetadata(tuple(data["requires_dist"]), data["requires_python"],
                                                         data["source"], data["unknown_reason"],
                                                         tuple(data["invalid_lines"]))))
        return found


def _describe(file: ReleaseFile) -> dict[str, Any]:
    return {"project": file.project, "version": str(file.version), "filename": file.filename, "kind": file.kind,
            "requires_python": file.requires_python,
            "upload_time": file.upload_time.isoformat() if file.upload_time else None}


def fetch_metadata(http: Http, file: ReleaseFile, cache: MetadataCache | None = None) -> CoreMetadata:
    """The dependencies of one file, trying PEP 658 metadata, the wheel, then the sdist; never builds."""
    cached = cache.get(file) if cache else None
    if cached is not None:
        return cached
    meta = _fetch_uncached(http, file)
    if cache:
        cache.put(file, meta)
    return meta


def _fetch_uncached(http: Http, file: ReleaseFile) -> CoreMetadata:
    from depgraph.sources.archives import ArchiveError, sdist_metadata, wheel_metadata

    if file.has_metadata:
        response = http.get(file.metadata_url)
        if response.status_code == 200:
            found = parse_metadata_file(response.content, "core-metadata")
            if not found.unknown:  # else the index served something else (an error page): read the file itself
                return found
    try:
        if file.kind == "wheel":
            return parse_metadata_file(wheel_metadata(http, file.url, file.size), "wheel")
        return metadata_from_sdist(sdist_metadata(http, file.url, file.size, file.filename))
    except ArchiveError as exc:
        return unknown(str(exc))
