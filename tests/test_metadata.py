"""Reading Requires-Dist from METADATA, PKG-INFO and setuptools' requires.txt."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from depgraph.sources.archives import SdistMetadata
from depgraph.sources.metadata import metadata_from_sdist, parse_metadata_file, requires_txt_to_requires_dist

REQUIRES_TXT = """\
flask<0.13,>=0.12
semantic_version<2.9,>=2.8

[:python_version < "3"]
futures<3.4,>=3.3

[develop]
mock<4,>=3.0.5

[plugins:sys_platform == "win32"]
pywin32
"""


def test_requires_txt_sections_become_markers() -> None:
    lines = requires_txt_to_requires_dist(REQUIRES_TXT)
    parsed = {Requirement(line).name: Requirement(line) for line in lines}
    assert parsed["flask"].marker is None
    py2 = {"python_version": "2.7", "extra": "", "sys_platform": "linux"}
    assert parsed["futures"].marker.evaluate(py2)
    assert not parsed["futures"].marker.evaluate({**py2, "python_version": "3.7"})
    assert parsed["mock"].marker.evaluate({**py2, "extra": "develop"})
    assert not parsed["mock"].marker.evaluate(py2)
    assert parsed["pywin32"].marker.evaluate({**py2, "extra": "plugins", "sys_platform": "win32"})
    assert not parsed["pywin32"].marker.evaluate({**py2, "extra": "plugins"})


def pkg_info(version: str, *fields: str) -> bytes:
    return ("\n".join([f"Metadata-Version: {version}", "Name: demo", "Version: 1.0", *fields]) + "\n").encode()


def test_metadata_file_keeps_good_lines_and_sets_bad_ones_aside() -> None:
    meta = parse_metadata_file(pkg_info("2.1", "Requires-Dist: Flask (>=0.12)", "Requires-Dist: (not valid",
                                        "Requires-Dist: pytz (>dev)", 'Requires-Dist: colorama (>x); os_name == "nt"',
                                        "Requires-Python: >=2.7"), "wheel")
    assert meta.requires_dist == ("Flask>=0.12", "pytz", 'colorama; os_name == "nt"')
    assert meta.invalid_lines == ("(not valid", "pytz (>dev)", 'colorama (>x); os_name == "nt"')
    assert meta.requires_python == ">=2.7"
    assert not meta.unknown


def test_metadata_file_in_latin1_still_parses() -> None:
    data = pkg_info("2.1", "Author: Ren\xe9", "Requires-Dist: six").replace(b"\xc3\xa9", b"\xe9")
    assert parse_metadata_file(data, "wheel").requires_dist == ("six",)


@pytest.mark.parametrize(("found", "source", "requires"), [
    (SdistMetadata(pkg_info("2.2", "Requires-Dist: six"), None, None), "sdist-pkg-info", ("six",)),
    (SdistMetadata(pkg_info("2.2", "Dynamic: Requires-Dist"), None, b"six\n"), "sdist-requires-txt", ("six",)),
    (SdistMetadata(pkg_info("1.1"), pkg_info("1.1"), b"flask\n"), "sdist-requires-txt", ("flask",)),
    (SdistMetadata(pkg_info("1.1"), pkg_info("1.1"), None), "sdist-egg-info", ()),
    (SdistMetadata(pkg_info("2.1", "Requires-Dist: six"), None, None), "sdist-pkg-info", ("six",)),
])
def test_sdist_decisions(found: SdistMetadata, source: str, requires: tuple[str, ...]) -> None:
    meta = metadata_from_sdist(found)
    assert (meta.source, meta.requires_dist, meta.unknown) == (source, requires, False)


@pytest.mark.parametrize("found", [
    SdistMetadata(pkg_info("1.0"), None, None),  # plain distutils: dependencies live in setup.py only
    SdistMetadata(pkg_info("2.2", "Dynamic: Requires-Dist"), None, None),
    SdistMetadata(None, None, None),
])
def test_sdist_without_static_dependencies_is_unknown(found: SdistMetadata) -> None:
    meta = metadata_from_sdist(found)
    assert meta.unknown and meta.source == "unknown" and meta.requires_dist == ()
