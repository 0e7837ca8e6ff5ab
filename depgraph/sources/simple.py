"""Simple repository API pages (PEP 691 JSON, PEP 503 HTML) turned into typed release files.

pypi-simple parses the page; ``packaging`` parses every filename, version and tag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    is_normalized_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from depgraph.errors import IndexUnavailable, UnknownPackage

if TYPE_CHECKING:  # pypi-simple (and requests, bs4) load only when a page is fetched
    from pypi_simple import ProjectPage

    from depgraph.sources.http import Http

SIMPLE_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
)

FileKind = Literal["wheel", "sdist"]


@dataclass(frozen=True)
class ReleaseFile:
    """One distribution file of one release, as an index lists it."""

    project: NormalizedName
    version: Version
    filename: str
    url: str
    kind: FileKind
    tags: frozenset[Tag]
    requires_python: str | None
    upload_time: datetime | None
    yanked: bool
    size: int | None
    sha256: str | None
    has_metadata: bool | None  # PEP 658/714: True, False, or None when the index does not say
    index: str

    @property
    def metadata_url(self) -> str:
        return self.url + ".metadata"

    @property
    def is_pure_python(self) -> bool:
        return self.kind == "wheel" and all(t.abi == "none" and t.platform == "any" for t in self.tags)


def parse_distribution_filename(filename: str) -> tuple[NormalizedName, Version, FileKind, frozenset[Tag]] | None:
    """Name, version, kind and tags of a wheel or sdist filename; ``None`` for eggs, installers and junk
    (including what packaging's filename parsers let through: spaces, control characters, ``é-1.0.tar.gz``)."""
    if not _plain(filename):
        return None
    parsed = _parse_filename(filename)
    if parsed is None or not is_normalized_name(parsed[0]):
        return None
    return parsed


def _parse_filename(filename: str) -> tuple[NormalizedName, Version, FileKind, frozenset[Tag]] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            return name, version, "wheel", tags
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return name, version, "sdist", frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def _plain(filename: str) -> bool:
    """Printable ASCII without spaces: all that names, versions and tags are made of."""
    return filename.isascii() and filename.isprintable() and not any(c.isspace() for c in filename)


def fetch_project_page(http: Http, simple_url: str, project: str) -> ProjectPage:
    """GET ``<simple_url>/<normalized>/`` with PEP 691 negotiation and parse it."""
    from pypi_simple import ProjectPage, UnsupportedContentTypeError, UnsupportedRepoVersionError

    name = canonicalize_name(project)
    url = urljoin(simple_url, f"{name}/")
    response = http.get(url, headers={"Accept": SIMPLE_ACCEPT})
    if response.status_code == 404:
        raise UnknownPackage(f"no project {project!r} on the index {simple_url}", "check the name's spelling")
    try:
        return ProjectPage.from_response(response, name)
    except (UnsupportedContentTypeError, UnsupportedRepoVersionError, ValueError, KeyError, TypeError,
            RecursionError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise IndexUnavailable(f"{url}: not a Simple API page ({reason})", "check the index URL") from exc


def release_files(page: ProjectPage, project: str, index: str) -> list[ReleaseFile]:
    """The page's wheels and sdists of ``project``; files of other projects, unparseable names, and links that are
    not http(s) (a page pointing at ``file:///etc/passwd``) are skipped."""
    wanted = canonicalize_name(project)
    return [f for f in (_release_file(pkg, index) for pkg in page.packages) if f and f.project == wanted]


def is_web_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL: the only kind of file link depgraph follows."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _release_file(pkg, index: str) -> ReleaseFile | None:  # pkg: pypi_simple.DistributionPackage
    parsed = parse_distribution_filename(pkg.filename)
    if parsed is None or not is_web_url(pkg.url):
        return None
    name, version, kind, tags = parsed
    return ReleaseFile(
        project=name,
        version=version,
        filename=pkg.filename,
        url=pkg.url.split("#", 1)[0],
        kind=kind,
        tags=tags,
        requires_python=pkg.requires_python or None,
        upload_time=_utc(pkg.upload_time),
        yanked=bool(pkg.is_yanked),
        size=pkg.size,
        sha256=(pkg.digests or {}).get("sha256"),
        has_metadata=pkg.has_metadata,
        index=index,
    )


def _utc(moment: datetime | None) -> datetime | None:
    """PEP 700 upload times are UTC; a page that leaves the zone out means UTC too (and compares with --date)."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def versions_of(files: Iterable[ReleaseFile]) -> list[Version]:
    return sorted({f.version for f in files}, reverse=True)
