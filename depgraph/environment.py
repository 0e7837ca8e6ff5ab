"""The target an installer resolves for: Python version, platform, and what that means for markers and tags."""

from __future__ import annotations

import platform as _platform
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from packaging import tags
from packaging.markers import default_environment
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.version import InvalidVersion, Version

from depgraph.errors import BadInput

ANY_PATCH = 999  # a bare "X.Y" target accepts a Requires-Python that some X.Y.* release satisfies


def _machine_of_platform_tag(tag: str) -> tuple[str, str, str, str]:
    """(sys_platform, platform_system, os_name, platform_machine) for a wheel platform tag."""
    if tag.startswith("win"):
        machine = {"win32": "x86", "win_amd64": "AMD64", "win_arm64": "ARM64"}.get(tag, tag.removeprefix("win_"))
        return "win32", "Windows", "nt", machine
    if tag.startswith("macosx_"):
        return "darwin", "Darwin", "posix", tag.split("_", 3)[-1]
    if tag.startswith(("manylinux_", "musllinux_")):
        return "linux", "Linux", "posix", tag.split("_", 3)[-1]
    if tag.startswith(("manylinux", "linux_")):
        return "linux", "Linux", "posix", tag.split("_", 1)[-1]
    raise BadInput(f"platform {tag!r} is not a wheel platform tag", "use e.g. linux_armv7l, manylinux2014_x86_64, "
                   "win_amd64 or macosx_10_9_x86_64")


@dataclass(frozen=True)
class TargetEnvironment:
    """A Python version and platform tag to resolve for; ``platform=None`` means this machine's."""

    python: str  # as given: "2.7" or "2.7.16"
    platform: str | None = None

    @classmethod
    def create(cls, python: str | None = None, platform: str | None = None) -> TargetEnvironment:
        python = python or _platform.python_version()
        try:
            version = Version(python)
        except InvalidVersion as exc:
            raise BadInput(f"--python {python!r} is not a Python version", "use e.g. 2.7, 3.7 or 3.7.3") from exc
        if len(version.release) not in (2, 3) or version.pre or version.dev or version.local:
            raise BadInput(f"--python {python!r} is not a Python version", "use e.g. 2.7, 3.7 or 3.7.3")
        target = cls(python, platform)
        if platform is not None:
            _machine_of_platform_tag(platform)
        return target

    @property
    def major_minor(self) -> tuple[int, int]:
        release = Version(self.python).release
        return release[0], release[1]

    @property
    def full_version(self) -> str:
        release = Version(self.python).release
        return ".".join(map(str, release)) if len(release) == 3 else f"{release[0]}.{release[1]}.0"

    @cached_property
    def markers(self) -> dict[str, str]:
        """The PEP 508 marker environment (without ``extra``) for this target."""
        env = dict(default_environment())
        major, minor = self.major_minor
        env.update(python_version=f"{major}.{minor}", python_full_version=self.full_version,
                   implementation_name="cpython", platform_python_implementation="CPython",
                   implementation_version=self.full_version)
        if self.platform is not None:
            sys_platform, system, os_name, machine = _machine_of_platform_tag(self.platform)
            env.update(sys_platform=sys_platform, platform_system=system, os_name=os_name,
                       platform_machine=machine, platform_release="", platform_version="")
        return env

    @cached_property
    def supported_tags(self) -> dict[Tag, int]:
        """Compatible wheel tags, mapped to their priority (0 is the most specific), as pip orders them."""
        version = self.major_minor
        platforms = list(tags.platform_tags()) if self.platform is None else self._platforms()
        ordered = [*tags.cpython_tags(python_version=version, platforms=platforms),
                   *tags.compatible_tags(python_version=version, interpreter=f"cp{version[0]}{version[1]}",
                                         platforms=platforms)]
        return {tag: rank for rank, tag in reversed(list(enumerate(ordered)))}

    def _platforms(self) -> list[str]:
        assert self.platform is not None
        if self.platform.startswith(("manylinux", "musllinux")):
            return [self.platform, f"linux_{_machine_of_platform_tag(self.platform)[3]}"]
        return [self.platform]

    def allows_python(self, requires_python: str | None) -> bool:
        """Whether a Requires-Python admits this target (for a bare X.Y, any X.Y.* release will do)."""
        if not requires_python:
            return True
        try:
            spec = SpecifierSet(requires_python)
        except InvalidSpecifier:
            return True  # pip ignores an invalid Requires-Python too
        if spec.contains(self.full_version, prereleases=True):
            return True
        if len(Version(self.python).release) == 2:
            major, minor = self.major_minor
            return spec.contains(f"{major}.{minor}.{ANY_PATCH}", prereleases=True)
        return False

    def to_dict(self) -> dict[str, object]:
        return {"python": self.python, "python_full_version": self.full_version,
                "platform": self.platform or "this machine",
                "markers": {k: self.markers[k] for k in ("sys_platform", "platform_machine", "python_version")}}


def running_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"


def parse_cutoff(text: str | None) -> datetime | None:
    """The exclusive upload-time cutoff for ``--date``: the end of that UTC day (uv: --exclude-newer D+1T00:00:00Z)."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if day < date.max else datetime.max.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(f"--date {text!r} is not a date", "use YYYY-MM-DD, e.g. 2020-03-05") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
