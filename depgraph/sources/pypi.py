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


def fetch_project_info(http: Http, json_url: str, project: str) -> ProjectInfo:
    url = f"{json_url}{canonicalize_name(project)}/json"
    response = http.get(url, headers={"Accept": "application/json"})
    if response.status_code == 404:
        raise UnknownPackage(f"no project {project!r} on {json_url}", "check the name's spelling")
    try:
        return parse_project_info(response.json())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexUnavailable(f"{url}: not a PyPI JSON API answer ({exc})", "check the index URL") from exc


def parse_project_info(data: dict[str, Any]) -> ProjectInfo:
    info = data["info"]
    releases: dict[Version, tuple[JsonFile, ...]] = {}
    for text, files in data.get("releases", {}).items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue  # legacy versions pip would ignore too
        releases[version] = tuple(_json_file(f) for f in files)
    return ProjectInfo(info["name"], info.get("summary") or "", info.get("version") or "",
                       tuple(info.get("requires_dist") or ()), releases)


def _json_file(data: dict[str, Any]) -> JsonFile:
    stamp = data.get("upload_time_iso_8601") or data.get("upload_time")
    upload_time = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    if upload_time is not None and upload_time.tzinfo is None:
        upload_time = upload_time.replace(tzinfo=UTC)
    return JsonFile(data["filename"], data.get("packagetype", ""), data.get("python_version", ""),
                    data.get("requires_python"), upload_time, bool(data.get("yanked")), data.get("size"))
