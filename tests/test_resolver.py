"""The provider's rules, one per test, over an in-memory index (resolvelib's own testing style)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from depgraph.environment import TargetEnvironment, parse_cutoff
from depgraph.errors import BadInput, ResolutionFailed, UnknownPackage
from depgraph.resolve import Resolution, resolve
from depgraph.sources.metadata import CoreMetadata
from depgraph.sources.simple import ReleaseFile


class MemoryIndex:
    """A ReleaseSource over dicts: ``add(filename, day, requires=[...])``."""

    def __init__(self) -> None:
        self.files_by_name: dict[str, list[ReleaseFile]] = {}
        self.meta: dict[str, CoreMetadata] = {}

    def add(self, filename: str, day: str, requires: Iterable[str] | None = (), requires_python: str | None = None,
            yanked: bool = False) -> None:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            kind = "wheel"
        else:
            stem = filename.removesuffix(".tar.gz")
            name, version, tags, kind = canonicalize_name(stem.rsplit("-", 1)[0]), Version(stem.rsplit("-", 1)[1]), \
                frozenset(), "sdist"
        upload = datetime.fromisoformat(day).replace(tzinfo=UTC)
        file = ReleaseFile(name, version, filename, f"mem://{filename}", kind, tags, requires_python, upload, yanked,
                           100, None, None, "memory")
        self.files_by_name.setdefault(name, []).append(file)
        self.meta[file.url] = (CoreMetadata((), requires_python, "unknown", "no metadata") if requires is None
                               else CoreMetadata(tuple(requires), requires_python, "wheel"))

    def files(self, name: str) -> list[ReleaseFile]:
        if canonicalize_name(name) not in self.files_by_name:
            raise UnknownPackage(f"no project {name!r}")
        return self.files_by_name[canonicalize_name(name)]

    def metadata(self, file: ReleaseFile) -> CoreMetadata:
        return self.meta[file.url]

    def prefetch(self, names: Iterable[str]) -> None:
        pass

    def prefetch_metadata(self, file: ReleaseFile) -> None:
        pass


def run(index: MemoryIndex, *requirements: str, python: str = "3.7", date: str | None = "2020-03-05",
        platform: str | None = "linux_armv7l") -> dict[str, str]:
    resolution = resolve(requirements, index, TargetEnvironment.create(python, platform), parse_cutoff(date), date)
    return {p.name: p.version for p in resolution.packages}


def full(index: MemoryIndex, *requirements: str, python: str = "2.7") -> Resolution:
    return resolve(requirements, index, TargetEnvironment.create(python, "linux_armv7l"),
                   parse_cutoff("2020-03-05"), "2020-03-05")


def test_files_uploaded_after_the_day_do_not_exist_yet() -> None:
    index = MemoryIndex()
    index.add("demo-1.0-py2.py3-none-any.whl", "2020-01-01")
    index.add("demo-1.1-py2.py3-none-any.whl", "2020-03-05T23:59:59")
    index.add("demo-1.2-py2.py3-none-any.whl", "2020-03-06T00:00:00")
    assert run(index, "demo") == {"demo": "1.1"}
    assert run(index, "demo", date="2020-03-04") == {"demo": "1.0"}
    assert run(index, "demo", date=None) == {"demo": "1.2"}


def test_yanked_releases_are_skipped_unless_pinned() -> None:
    index = MemoryIndex()
    index.add("demo-1.0-py3-none-any.whl", "2020-01-01")
    index.add("demo-1.1-py3-none-any.whl", "2020-01-02", yanked=True)
    assert run(index, "demo") == {"demo": "1.0"}
    assert run(index, "demo==1.1") == {"demo": "1.1"}


def test_requires_python_and_wheel_tags_decide_for_the_target() -> None:
    index = MemoryIndex()
    index.add("demo-1.0-py2.py3-none-any.whl", "2020-01-01")
    index.add("demo-2.0-py3-none-any.whl", "2020-01-02", requires_python=">=3.5")
    index.add("demo-2.1-cp37-cp37m-win_amd64.whl", "2020-01-03")
    assert run(index, "demo", python="2.7") == {"demo": "1.0"}
    assert run(index, "demo", python="3.7") == {"demo": "2.0"}
    assert run(index, "demo", python="3.7", platform="win_amd64") == {"demo": "2.1"}


def test_prereleases_only_when_asked_for() -> None:
    index = MemoryIndex()
    index.add("demo-1.0-py3-none-any.whl", "2020-01-01")
    index.add("demo-2.0rc1-py3-none-any.whl", "2020-01-02")
    assert run(index, "demo") == {"demo": "1.0"}
    assert run(index, "demo>=2.0rc1") == {"demo": "2.0rc1"}


def test_markers_follow_the_target_python() -> None:
    index = MemoryIndex()
    index.add("app-1.0-py2.py3-none-any.whl", "2020-01-01", requires=['futures; python_version < "3"', "six"])
    index.add("futures-3.3.0-py2-none-any.whl", "2019-01-01")
    index.add("six-1.14.0-py2.py3-none-any.whl", "2019-01-01")
    assert set(run(index, "app", python="2.7")) == {"app", "futures", "six"}
    assert set(run(index, "app", python="3.7")) == {"app", "six"}


def test_extras_pull_their_requirements_and_mark_the_edge() -> None:
    index = MemoryIndex()
    index.add("app-1.0-py3-none-any.whl", "2020-01-01", requires=["six", 'pysocks; extra == "socks"'])
    index.add("six-1.14.0-py2.py3-none-any.whl", "2019-01-01")
    index.add("pysocks-1.7.1-py3-none-any.whl", "2019-01-01")
    assert set(run(index, "app")) == {"app", "six"}
    resolution = full(index, "app[socks]", python="3.7")
    assert {p.name for p in resolution.packages} == {"app", "six", "pysocks"}
    assert resolution.package("app").extras == ("socks",)
    edge = next(e for e in resolution.edges if e.target == "pysocks")
    assert (edge.source, edge.extra) == ("app", "socks")


def test_backtracks_when_the_newest_choice_conflicts() -> None:
    index = MemoryIndex()
    index.add("lib-2.0-py3-none-any.whl", "2020-01-02", requires=["helper<1"])
    index.add("lib-1.0-py3-none-any.whl", "2020-01-01", requires=["helper>=1"])
    index.add("helper-1.0-py3-none-any.whl", "2020-01-01")
    index.add("helper-0.9-py3-none-any.whl", "2019-01-01")
    index.add("app2-1.0-py3-none-any.whl", "2020-01-01", requires=["lib", "helper>=1"])
    assert run(index, "app2") == {"app2": "1.0", "lib": "1.0", "helper": "1.0"}


def test_unknown_metadata_is_marked_not_treated_as_empty() -> None:
    index = MemoryIndex()
    index.add("app-1.0-py2.py3-none-any.whl", "2020-01-01", requires=["legacy"])
    index.add("legacy-1.0.tar.gz", "2015-01-01", requires=None)
    resolution = full(index, "app")
    legacy = resolution.package("legacy")
    assert legacy.unknown and legacy.metadata_source == "unknown"
    assert any("legacy 1.0" in warning for warning in resolution.warnings)
    assert not resolution.package("app").unknown


def test_impossible_requirements_fail_with_the_cause() -> None:
    index = MemoryIndex()
    index.add("demo-1.0-py3-none-any.whl", "2020-01-01")
    with pytest.raises(ResolutionFailed, match="demo>=2"):
        run(index, "demo>=2")


def test_bad_requirement_is_bad_input() -> None:
    with pytest.raises(BadInput, match="'demo >>> 1'"):
        run(MemoryIndex(), "demo >>> 1")


def test_names_are_canonical_everywhere() -> None:
    index = MemoryIndex()
    index.add("Flask_Login-0.4.1-py2.py3-none-any.whl", "2020-01-01", requires=["Flask"])
    index.add("Flask-0.12.5-py2.py3-none-any.whl", "2020-01-01")
    resolution = full(index, "FLASK.login")
    assert [p.name for p in resolution.packages] == ["flask", "flask-login"]
    assert resolution.roots == ("flask-login",)
    assert [(e.source, e.target) for e in resolution.edges] == [("flask-login", "flask")]


def test_resolution_round_trips_through_its_json() -> None:
    index = MemoryIndex()
    index.add("app-1.0-py3-none-any.whl", "2020-01-01", requires=["six"])
    index.add("six-1.14.0-py2.py3-none-any.whl", "2019-01-01")
    resolution = full(index, "app", python="3.7")
    assert Resolution.from_dict(resolution.to_dict()) == resolution
