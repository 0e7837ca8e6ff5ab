"""PyPI's JSON API (``/pypi/<name>/json``): project summary, releases, upload times, yanks, file kinds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depgraph.errors import IndexUnavailable, UnknownPackage
from depgraph.sources.http import Http


@dataclass(frozen=True)
class JsonFile:
    filename: str
    packagetype: str
    python_version: str
    requires_python: str | None
    upload_time: datetime | None
    yanked: bool
    size: int | None


@dataclass(frozen=True)
class ProjectInfo:
    """What the JSON API says of a project; ``requires_dist`` is the latest release's only."""

    name: str
    summary: str
    latest_version: str
    requires_dist: tuple[str, ...]
    releases: dict[Version, tuple[JsonFile, ...]]

    def released(self, version: Version) -> datetime | None:
        times = [f.upload_time for f in self.releases.get(version, ()) if f.upload_time]
        return min(times, default=None)


class NotProjectJson(ValueError):
    """The JSON is not shaped like the JSON API's project document; the message says where."""


def fetch_project_info(http: Http, json_url: str, project: str) -> ProjectInfo:
    url = f"{json_url}{canonicalize_name(project)}/json"
    response = http.get(url, headers={"Accept": "application/json"})
    if response.status_code == 404:
        raise UnknownPackage(f"no project {project!r} on {json_url}", "check the name's spelling")
    try:
        return parse_project_info(response.json())
    except (ValueError, RecursionError) as exc:  # NotProjectJson, and requests' JSONDecodeError
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise IndexUnavailable(f"{url}: not a PyPI JSON API answer ({reason})", "check the index URL") from exc


def parse_project_info(data: Any) -> ProjectInfo:
    """Typed view of a decoded ``/pypi/<name>/json`` document; raises :class:`NotProjectJson` naming the bad key."""
    info = _object(_object(data, "the document").get("info"), "info")
    releases: dict[Version, tuple[JsonFile, ...]] = {}
    for text, files in _object(data.get("releases", {}), "releases").items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue  # legacy versions pip would ignore too
        where = f"releases[{text!r}]"
        releases[version] = tuple(_json_file(_object(f, where)) for f in _list(files, where))
    requires = _list(info.get("requires_dist") or [], "info.requires_dist")
    if not all(isinstance(r, str) for r in requires):
        raise NotProjectJson("info.requires_dist is not a list of strings")
    return ProjectInfo(_string(info, "name", "info", required=True) or "", _string(info, "summary", "info") or "",
                       _string(info, "version", "info") or "", tuple(requires), releases)


def _json_file(data: dict[str, Any]) -> JsonFile:
    where = f"file {data.get('filename')!r}"
    stamp = _string(data, "upload_time_iso_8601", where) or _string(data, "upload_time", where)
    size = data.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise NotProjectJson(f"{where}: size is {size!r}, expected a byte count")
    return JsonFile(_string(data, "filename", where, required=True) or "", _string(data, "packagetype", where) or "",
                    _string(data, "python_version", where) or "", _string(data, "requires_python", where),
                    _upload_time(stamp, where) if stamp else None, bool(data.get("yanked")), size)


def _upload_time(stamp: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise NotProjectJson(f"{where}: upload time {stamp!r} is not ISO 8601") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NotProjectJson(f"{where} is {type(value).__name__}, expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise NotProjectJson(f"{where} is {type(value).__name__}, expected a list")
    return value


def _string(data: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise NotProjectJson(f"{where}.{key} is {type(value).__name__}, expected a string")
    return value
