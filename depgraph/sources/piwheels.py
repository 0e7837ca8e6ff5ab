"""piwheels' project JSON API (``<site>/project/<canonical name>/json/``) turned into typed release files.

piwheels' Simple index is PEP 503 HTML without upload times; the project JSON adds when each release
appeared, the ABI of the builder, and (in newer versions of the API) each file's URL, Requires-Python and
pip dependencies. Keys that older versions of the API lacked are optional here; a key that is present
with the wrong type is an error (:class:`IndexUnavailable` naming the URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from packaging.utils import canonicalize_name

from depgraph.errors import IndexUnavailable, UnknownPackage
from depgraph.sources.http import Http
from depgraph.sources.simple import ReleaseFile, is_web_url, parse_distribution_filename

INDEX_NAME = "piwheels"
RELEASED_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC, no zone; v0.19 of the API appended " UTC"


@dataclass(frozen=True)
class PiwheelsFile:
    """One wheel piwheels built, as its project JSON describes it."""

    filename: str
    filehash: str | None  # sha256, hex
    filesize: int | None
    file_url: str | None  # site-relative (``/simple/<package>/<filename>``); absent before 2025
    builder_abi: str | None  # the ABI of the builder, e.g. ``cp37m``
    file_abi_tag: str | None  # the ABI tag in the filename: ``cp37m``, ``abi3``, ``none``
    platform: str | None  # ``linux_armv7l``, ``linux_armv6l``, ``any``
    requires_python: str | None
    apt_dependencies: tuple[str, ...]
    pip_dependencies: tuple[str, ...] | None  # None when the API predates the key


@dataclass(frozen=True)
class PiwheelsRelease:
    """One version of a project on piwheels; ``files`` is empty when nothing was built."""

    version: str  # as piwheels spells it (PyPI's original spelling)
    released: datetime | None  # tz-aware UTC; see piwheels_release_files
    prerelease: bool
    yanked: bool
    skip_reason: str  # '' unless piwheels skipped the version, e.g. 'binary only'
    files: tuple[PiwheelsFile, ...]


@dataclass(frozen=True)
class PiwheelsProject:
    """A project's piwheels JSON: its releases, newest first as piwheels writes them."""

    package: str
    summary: str
    releases: tuple[PiwheelsRelease, ...]
    url: str  # where it was read from
    pypi_url: str | None = None
    piwheels_url: str | None = None


class _Shape(ValueError):
    """The JSON is not shaped like piwheels' project JSON; the message says where."""


def project_json_url(site_url: str, name: str) -> str:
    """``<site>/project/<canonical name>/json/`` (the trailing slash avoids Apache's redirect)."""
    root = site_url if site_url.endswith("/") else site_url + "/"
    return urljoin(root, f"project/{canonicalize_name(name)}/json/")


def fetch_piwheels_project(http: Http, site_url: str, name: str) -> PiwheelsProject:
    """GET and parse the project JSON of ``name`` from the piwheels site at ``site_url``."""
    url = project_json_url(site_url, name)
    response = http.get(url, headers={"Accept": "application/json"})
    if response.status_code == 404:
        raise UnknownPackage(f"no project {name!r} on piwheels at {site_url}", "check the name's spelling")
    try:
        return parse_piwheels_project(response.json(), url)
    except (ValueError, RecursionError) as exc:  # _Shape, and requests' JSONDecodeError, are ValueErrors
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise IndexUnavailable(f"{url}: not a piwheels project JSON ({reason})", "check the piwheels URL") from exc


def parse_piwheels_project(data: object, url: str) -> PiwheelsProject:
    """Typed view of a decoded project JSON; raises ValueError saying which key is wrong."""
    top = _mapping(data, "the document")
    releases = _mapping(_required(top, "the document", "releases"), "releases")
    return PiwheelsProject(
        package=_text(top, "package", "the document", required=True) or "",
        summary=_text(top, "summary", "the document") or "",
        releases=tuple(_release(version, raw) for version, raw in releases.items()),
        url=url,
        pypi_url=_text(top, "pypi_url", "the document"),
        piwheels_url=_text(top, "piwheels_url", "the document"),
    )


def piwheels_release_files(project: PiwheelsProject, site_url: str, index: str = INDEX_NAME) -> list[ReleaseFile]:
    """One :class:`ReleaseFile` per wheel of the project; unparseable or foreign filenames are skipped.

    ``upload_time`` is the release's ``released``: the time PyPI first received a file of that version
    (piwheels takes it from PyPI's changelog), not the time piwheels built the wheel. That makes it the
    right "as of" time: a version released before a cut-off date was on PyPI by then, and piwheels
    normally built it within hours. Tags come from the filename; ``file_url`` is resolved against the
    site root (a leading ``/`` counts from the root given, so a mirror under a path prefix works).
    """
    wanted = canonicalize_name(project.package)
    found: list[ReleaseFile] = []
    for release in project.releases:
        for wheel in release.files:
            parsed = parse_distribution_filename(wheel.filename)
            if parsed is None or parsed[2] != "wheel" or parsed[0] != wanted:
                continue
            url = file_url(site_url, project.package, wheel)
            if not is_web_url(url):  # a file_url of another scheme (file:, ftp:) is not followed
                continue
            name, version, _kind, tags = parsed
            found.append(ReleaseFile(
                project=name, version=version, filename=wheel.filename,
                url=url, kind="wheel", tags=tags,
                requires_python=wheel.requires_python or None, upload_time=release.released,
                yanked=release.yanked, size=wheel.filesize, sha256=wheel.filehash, has_metadata=False,
                index=index,
            ))
    return found


def file_url(site_url: str, package: str, wheel: PiwheelsFile) -> str:
    """The wheel's absolute URL: its ``file_url``, else ``simple/<package>/<filename>``, under the site root."""
    path = wheel.file_url or f"/simple/{canonicalize_name(package)}/{wheel.filename}"
    if urlsplit(path).scheme:
        return path
    root = site_url if site_url.endswith("/") else site_url + "/"
    return urljoin(root, path.lstrip("/"))


def parse_released(text: str) -> datetime:
    """piwheels' ``released`` (``YYYY-MM-DD HH:MM:SS``, UTC, optionally suffixed `` UTC``) as aware UTC."""
    try:
        return datetime.strptime(text.removesuffix(" UTC"), RELEASED_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise _Shape(f"released {text!r} is not {RELEASED_FORMAT}") from exc


def _release(version: str, raw: object) -> PiwheelsRelease:
    where = f"releases[{version!r}]"
    release = _mapping(raw, where)
    files = _mapping(_required(release, where, "files"), f"{where}.files")
    released = _text(release, "released", where)
    return PiwheelsRelease(
        version=version,
        released=parse_released(released) if released else None,
        prerelease=_flag(release, "prerelease", where),
        yanked=_flag(release, "yanked", where),
        skip_reason=_text(release, "skip_reason", where) or "",
        files=tuple(_file(name, data, f"{where}.files[{name!r}]") for name, data in files.items()),
    )


def _file(filename: str, raw: object, where: str) -> PiwheelsFile:
    data = _mapping(raw, where)
    pip = _strings(data, "pip_dependencies", where)
    return PiwheelsFile(
        filename=filename,
        filehash=_text(data, "filehash", where),
        filesize=_count(data, "filesize", where),
        file_url=_text(data, "file_url", where),
        builder_abi=_text(data, "builder_abi", where),
        file_abi_tag=_text(data, "file_abi_tag", where),
        platform=_text(data, "platform", where),
        requires_python=_text(data, "requires_python", where),
        apt_dependencies=_strings(data, "apt_dependencies", where) or (),
        pip_dependencies=pip,
    )


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _Shape(f"{where} is {type(value).__name__}, expected an object")
    return value


def _required(data: Mapping[str, object], where: str, key: str) -> object:
    if key not in data:
        raise _Shape(f"{where} has no {key!r}")
    return data[key]


def _text(data: Mapping[str, object], key: str, where: str, required: bool = False) -> str | None:
    value = _required(data, where, key) if required else data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _Shape(f"{where}.{key} is {type(value).__name__}, expected a string")
    return value


def _flag(data: Mapping[str, object], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise _Shape(f"{where}.{key} is {type(value).__name__}, expected true or false")
    return value


def _count(data: Mapping[str, object], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Shape(f"{where}.{key} is {value!r}, expected a byte count")
    return value


def _strings(data: Mapping[str, object], key: str, where: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Shape(f"{where}.{key} is not a list of strings")
    return tuple(value)
