"""Targets: marker environments, wheel tags, Requires-Python and the --date cutoff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from packaging.markers import Marker
from packaging.tags import Tag

from depgraph.environment import TargetEnvironment, parse_cutoff
from depgraph.errors import BadInput


@pytest.mark.parametrize(("python", "marker", "holds"), [
    ("2.7", "python_version < '3'", True),
    ("3.7", "python_version < '3'", False),
    ("3.7", "python_version >= '3.7'", True),
    ("3.7.3", "python_full_version >= '3.7.1'", True),
    ("3.7", "python_full_version >= '3.7.1'", False),  # a bare X.Y means X.Y.0 in markers, as uv does
    ("2.7", "platform_python_implementation == 'CPython'", True),
])
def test_python_markers(python: str, marker: str, holds: bool) -> None:
    assert Marker(marker).evaluate(TargetEnvironment.create(python, "linux_armv7l").markers) is holds


@pytest.mark.parametrize(("platform", "sys_platform", "machine"), [
    ("linux_armv7l", "linux", "armv7l"),
    ("linux_armv6l", "linux", "armv6l"),
    ("manylinux2014_x86_64", "linux", "x86_64"),
    ("manylinux_2_17_aarch64", "linux", "aarch64"),
    ("win_amd64", "win32", "AMD64"),
    ("macosx_10_9_x86_64", "darwin", "x86_64"),
])
def test_platform_markers(platform: str, sys_platform: str, machine: str) -> None:
    markers = TargetEnvironment.create("3.7", platform).markers
    assert (markers["sys_platform"], markers["platform_machine"]) == (sys_platform, machine)


def test_wheel_tags_for_python2_on_a_pi() -> None:
    tags = TargetEnvironment.create("2.7", "linux_armv7l").supported_tags
    assert Tag("py2", "none", "any") in tags
    assert Tag("cp27", "cp27mu", "linux_armv7l") in tags
    assert Tag("py3", "none", "any") not in tags
    assert Tag("cp37", "cp37m", "linux_armv7l") not in tags
    assert tags[Tag("cp27", "cp27mu", "linux_armv7l")] < tags[Tag("py2", "none", "any")]


@pytest.mark.parametrize(("python", "requires", "allowed"), [
    ("2.7", ">=2.7.9, !=3.0.*, <4", True),  # a bare 2.7 admits what some 2.7.x satisfies
    ("2.7.8", ">=2.7.9", False),
    ("3.7", ">=3.5", True),
    ("3.7", ">=3.8", False),
    ("2.7", ">=3", False),
    ("3.7", None, True),
    ("3.7", "this is not a specifier", True),  # pip ignores an invalid Requires-Python
])
def test_requires_python(python: str, requires: str | None, allowed: bool) -> None:
    assert TargetEnvironment.create(python).allows_python(requires) is allowed


@pytest.mark.parametrize("python", ["three", "3", "3.7.1.2", "3.8rc1", ""])
def test_bad_python_is_bad_input(python: str) -> None:
    with pytest.raises(BadInput, match="--python"):
        TargetEnvironment.create(python or "x")


@pytest.mark.parametrize("platform", ["armv7l", "linux", "solaris_sparc"])
def test_bad_platform_is_bad_input(platform: str) -> None:
    with pytest.raises(BadInput, match="platform"):
        TargetEnvironment.create("3.7", platform)


def test_cutoff_is_the_end_of_the_utc_day() -> None:
    assert parse_cutoff("2020-03-05") == datetime(2020, 3, 6, tzinfo=UTC)
    assert parse_cutoff("2020-03-05T11:46:00Z") == datetime(2020, 3, 5, 11, 46, tzinfo=UTC)
    assert parse_cutoff(None) is None


@pytest.mark.parametrize("text", ["2020-13-01", "2020-02-30", "yesterday", "05/03/2020"])
def test_impossible_dates_are_bad_input(text: str) -> None:
    with pytest.raises(BadInput, match="--date"):
        parse_cutoff(text)
