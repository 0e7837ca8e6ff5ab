"""Hypothesis fuzz for every parser of untrusted input: arbitrary bytes and text never raise anything but a
``depgraph.errors`` exception (or the error type the function documents, or None/unknown where it says so).

Known bugs in code owned elsewhere are strict xfails with the input that shows them as an explicit example.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, is_normalized_name
from packaging.version import Version
from pytest_httpserver import HTTPServer
from werkzeug import Response

from depgraph.downloads.filenames import parse_filename
from depgraph.downloads.ingest import check_file
from depgraph.environment import TargetEnvironment, parse_cutoff
from depgraph.errors import BadInput, DepgraphError, IndexUnavailable, UnknownPackage
from depgraph.installed import graph_from_pipdeptree_json
from depgraph.resolve import applicable_requirements, root_requirements
from depgraph.sources.archives import SdistMetadata
from depgraph.sources.http import Http
from depgraph.sources.metadata import (
    metadata_from_sdist,
    parse_metadata_file,
    requires_txt_to_requires_dist,
)
from depgraph.sources.piwheels import parse_piwheels_project, piwheels_release_files
from depgraph.sources.pypi import NotProjectJson, parse_project_info
from depgraph.sources.simple import fetch_project_page, parse_distribution_filename, release_files

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
FEW = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
TARGETS = (TargetEnvironment.create("2.7", "linux_armv7l"), TargetEnvironment.create("3.8", "win_amd64"))

# pieces requirement strings and markers are made of, so that random text often comes close to valid
REQUIREMENT_ALPHABET = st.sampled_from([
    *"abcxyz019", "-", "_", ".", " ", ",", ";", "@", "[", "]", "(", ")", "'", '"', "*", "!", "~", "=", "<", ">",
    "==", ">=", "~=", "===", "!=", " and ", " or ", " in ", " not in ", "python_version", "extra", "sys_platform",
    "platform_machine", "os_name", "extras", "2.7", "3", "1.0.*", "\n", "\t", "\x00", "é", "\udcff"])
requirement_text = st.lists(REQUIREMENT_ALPHABET, max_size=25).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25)


def _keyed(keys: list[str]) -> st.SearchStrategy[Any]:
    """JSON whose objects use ``keys``, so a parser gets past its first checks more often than with random keys."""
    return st.recursive(
        st.none() | st.booleans() | st.integers(-5, 10**12) | st.text(max_size=12) | st.sampled_from(keys),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(keys) | st.text(max_size=4),
                                                                   inner, max_size=6),
        max_leaves=30)


# --- requirements and markers (resolve's arguments, metadata's Requires-Dist) -----------------------------

@FUZZ
@given(st.lists(requirement_text, min_size=1, max_size=3))
def test_root_requirements_raise_only_bad_input(texts: list[str]) -> None:
    for target in TARGETS:
        try:
            applying, skipped = root_requirements(texts, target)
        except BadInput:
            continue
        assert len(applying) + len(skipped) == len(texts)
        assert all(not r.url and r.name == canonicalize_name(r.name) for r in applying)


@st.composite
def metadata_bytes(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from(["Metadata-Version: 2.1\nName: demo\n", "", "Name: x\n",
                                   "\ufeffMetadata-Version: 2.2\n"]))
    lines = draw(st.lists(st.tuples(st.sampled_from(["Requires-Dist", "Requires-Python", "Dynamic",
                                                     "Provides-Extra", "requires-dist", "X"]), requirement_text),
                          max_size=6))
    text = header + "".join(f"{key}: {value}\n" for key, value in lines)
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16", "utf-8-sig"]))
    return text.encode(encoding, errors="surrogateescape" if encoding == "utf-8" else "replace")


@FUZZ
@given(metadata_bytes() | st.binary(max_size=400))
@example(b"<html><body>503</body></html>")
@example(b"Requires-Dist: six\n")
def test_metadata_files_give_usable_requirements_or_unknown(data: bytes) -> None:
    """Whatever the bytes, the parsers return requirements the resolver can evaluate for any target, or unknown;
    bytes without a Metadata-Version or Name field are unknown, never "no dependencies"."""
    for found in (parse_metadata_file(data, "wheel"), metadata_from_sdist(SdistMetadata(data, None, None)),
                  metadata_from_sdist(SdistMetadata(None, b"", data))):
        assert found.unknown or found.source != "unknown"
        for requirement in found.requirements():
            assert isinstance(requirement, Requirement)
        for target in TARGETS:
            applicable_requirements(found, frozenset({"x", "a-b"}), target)
    meta = parse_metadata_file(data, "wheel")
    if meta.unknown:
        assert meta.requires_dist == ()


@FUZZ
@given(st.lists(st.one_of(requirement_text, st.sampled_from(["[x]", "[:python_version < '3']", "[x:os_name == 'nt']",
                                                              "[", "]", "[:]", "#", "[x:(]"])), max_size=8))
def test_requires_txt_sections_give_valid_requirements(lines: list[str]) -> None:
    text = "\n".join(lines)
    found = metadata_from_sdist(SdistMetadata(None, b"Name: demo\n", text.encode("utf-8", "replace")))
    assert found.source == "sdist-requires-txt"
    for target in TARGETS:
        applicable_requirements(found, frozenset({"x"}), target)
    assert len(requires_txt_to_requires_dist(text)) <= len(text.splitlines())


# --- file names ---------------------------------------------------------------------------------------------

FILENAME_ALPHABET = st.sampled_from([*"abcXY019-_.+!", "py3", "none", "any", "cp37", "linux_armv7l", ".whl",
                                     ".tar.gz", ".zip", "-1.0", " ", "\n", "é", "/", "\x00"])
filename_text = st.lists(FILENAME_ALPHABET, max_size=14).map("".join)


@FUZZ
@given(filename_text | st.text(max_size=40))
def test_parse_distribution_filename_returns_a_valid_name_or_none(filename: str) -> None:
    parsed = parse_distribution_filename(filename)
    if parsed is not None:
        name, version, kind, tags = parsed
        assert is_normalized_name(name) and name.isascii()
        assert isinstance(version, Version) and kind in ("wheel", "sdist")
        assert (kind == "wheel") == bool(tags)


@FUZZ
@given(st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?", fullmatch=True),
       st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9])?(\.post[0-9])?", fullmatch=True))
def test_valid_names_and_versions_round_trip(name: str, version: str) -> None:
    wheel_name = canonicalize_name(name).replace("-", "_")
    for filename, kind in ((f"{wheel_name}-{version}-py3-none-any.whl", "wheel"),
                           (f"{wheel_name}-{version}.tar.gz", "sdist")):
        parsed = parse_distribution_filename(filename)
        assert parsed is not None and parsed[:3] == (canonicalize_name(name), Version(version), kind)
        assert parse_filename(filename)[:3] == (canonicalize_name(name), str(Version(version)), kind)


@FUZZ
@given(filename_text | st.text(max_size=40) | st.none())
def test_parse_filename_never_raises(filename: str | None) -> None:
    package, version, kind, reason = parse_filename(filename)
    assert (reason is None) == (package is not None) == (version is not None) == (kind is not None)


@FEW
@given(filename_text)
@example("é-1.0-py3-none-any.whl")
def test_parse_filename_gives_only_project_names(filename: str) -> None:
    package = parse_filename(filename)[0]
    assert package is None or (package.isascii() and is_normalized_name(package))


# --- index answers: piwheels JSON, the JSON API, Simple pages -----------------------------------------------

PIWHEELS_KEYS = ["package", "summary", "releases", "released", "prerelease", "yanked", "skip_reason", "files",
                 "filehash", "filesize", "file_url", "builder_abi", "file_abi_tag", "platform", "requires_python",
                 "apt_dependencies", "pip_dependencies", "demo-1.0-py3-none-any.whl", "1.0", "2020-03-01 10:00:00"]


@FUZZ
@given(_keyed(PIWHEELS_KEYS) | json_values)
@example({"package": "demo", "releases": {"1.0": {"released": "2020-02-30 10:00:00", "files": {}}}})
def test_piwheels_json_raises_only_value_error(document: Any) -> None:
    """parse_piwheels_project documents ValueError naming the bad key (the fetch turns it into IndexUnavailable)."""
    try:
        project = parse_piwheels_project(document, "http://127.0.0.1:9/project/demo/json/")
    except ValueError as exc:
        assert type(exc).__name__ == "_Shape" and str(exc)
        return
    for file in piwheels_release_files(project, "http://127.0.0.1:9/"):
        assert file.kind == "wheel" and is_normalized_name(file.project)


JSON_API_KEYS = ["info", "name", "summary", "version", "requires_dist", "releases", "filename", "packagetype",
                 "python_version", "requires_python", "upload_time", "upload_time_iso_8601", "yanked", "size", "1.0",
                 "2020-03-05T10:00:00Z"]


@FUZZ
@given(_keyed(JSON_API_KEYS) | json_values)
def test_pypi_json_raises_only_not_project_json(document: Any) -> None:
    try:
        info = parse_project_info(document)
    except NotProjectJson:
        return
    assert all(isinstance(r, str) for r in info.requires_dist)


@pytest.fixture(scope="module")
def page_server() -> Iterator[tuple[HTTPServer, dict[str, tuple[bytes, str]]]]:
    """A server answering /simple/demo/ with whatever the test put in the dict."""
    current: dict[str, tuple[bytes, str]] = {"page": (b"", "text/html")}
    server = HTTPServer(host="127.0.0.1")
    server.expect_request("/simple/demo/").respond_with_handler(
        lambda request: Response(current["page"][0], content_type=current["page"][1]))
    server.start()
    yield server, current
    server.clear()
    server.stop()


PAGE_KEYS = ["meta", "api-version", "name", "files", "filename", "url", "hashes", "sha256", "requires-python",
             "core-metadata", "yanked", "size", "upload-time", "1.0", "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]


@FEW
@given(st.one_of(_keyed(PAGE_KEYS).map(lambda d: json.dumps(d).encode()), st.binary(max_size=300),
                 st.text(max_size=200).map(lambda t: f'<html><a href="{t}">{t}</a></html>'.encode("utf-8", "replace"))),
       st.sampled_from(["application/vnd.pypi.simple.v1+json", "text/html", "application/json", "text/plain"]))
def test_simple_pages_give_release_files_or_index_unavailable(page_server: tuple[HTTPServer, dict[str, Any]],
                                                              body: bytes, content_type: str) -> None:
    server, current = page_server
    current["page"] = (body, content_type)
    with tempfile.TemporaryDirectory() as folder:
        http = Http(Path(folder) / "http", use_cache=False, retries=0)
        try:
            page = fetch_project_page(http, server.url_for("/simple/"), "demo")
        except IndexUnavailable as exc:
            assert "/simple/demo/" in str(exc)
            return
        finally:
            http.close()
    for file in release_files(page, "demo", "test"):
        assert file.project == "demo" and (file.upload_time is None or file.upload_time.tzinfo is not None)


# --- files users give: pipdeptree output, download logs -----------------------------------------------------

PIPDEPTREE_KEYS = ["package", "dependencies", "key", "package_name", "installed_version", "required_version", "extra",
                   "candidate_version", "flask", "Any", "?", ">=1.0", "1.0"]


@FUZZ
@given(_keyed(PIPDEPTREE_KEYS).map(lambda d: json.dumps(d).encode()) | st.binary(max_size=300))
@example(b"[" + b"1" * 5000 + b"]")
@example(b"[" * 50_000)
def test_pipdeptree_files_raise_only_bad_input(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tree.json"
        path.write_bytes(data)
        try:
            graph = graph_from_pipdeptree_json(path)
        except BadInput as exc:
            assert str(path) in str(exc)
            return
    assert all(isinstance(node, str) for node in graph.nodes)


CSV_PIECES = st.sampled_from(["date", "package", "downloads", "filename", "accessed_by", "accessed_at", "timestamp",
                              "file_project", "name", "version", "upload_time", "requires_dist", ",", "\n", '"',
                              "2020-03-05", "flask", "3", "{", "}", "[", ":", '"data"', '"type"', "\x00", "é"])
log_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(CSV_PIECES, max_size=40).map(lambda pieces: "".join(pieces).encode()),
    _keyed(["data", "type", "package", "timestamp", "file", "project", "name", "version", "upload_time",
            "requires_dist", "packagetype", "category", "date", "downloads"]).map(lambda d: json.dumps(d).encode()),
)


@FUZZ
@given(log_bytes, st.booleans())
def test_telling_a_log_format_raises_only_bad_input(data: bytes, zipped: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log"
        path.write_bytes(gzip.compress(data, mtime=0) if zipped else data)
        try:
            fmt = check_file(path)
        except BadInput as exc:
            assert str(path) in str(exc)
            return
    assert fmt in ("piwheels", "bigquery", "pypistats", "counts", "releases", "empty")


@FEW
@given(st.binary(min_size=1, max_size=200))
@example(b"\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(200)))
def test_telling_a_corrupt_gzip_or_deep_json_log_raises_only_bad_input(tail: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for data in (b"\x1f\x8b" + tail, b'{"a": ' + b"[" * 20_000 + b"\n"):
            path = Path(folder) / "log"
            path.write_bytes(data)
            with contextlib.suppress(BadInput):
                check_file(path)


# --- what users type: dates, Python versions, platforms -----------------------------------------------------

@FUZZ
@given(st.text(max_size=30) | st.from_regex(r"-?[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}(T[0-9:+Z.]{0,15})?", fullmatch=True))
@example("9999-12-31")
@example("0001-01-01")
def test_dates_raise_only_bad_input(text: str) -> None:
    try:
        cutoff = parse_cutoff(text)
    except BadInput as exc:
        assert repr(text) in str(exc)
        return
    assert cutoff is not None and cutoff.tzinfo is not None


@FEW
@given(st.text(max_size=12) | st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}", fullmatch=True),
       st.none() | st.text(max_size=20) | st.sampled_from(["linux_armv7l", "manylinux_2_17_x86_64", "macosx_",
                                                           "win_", "musllinux_1_1_", "linux_"]))
def test_targets_raise_only_bad_input(python: str, platform: str | None) -> None:
    try:
        target = TargetEnvironment.create(python, platform)
        target.allows_python(">=3.6")
        assert target.markers["python_version"] and target.supported_tags
    except BadInput:
        return


def test_every_library_error_is_a_depgraph_error() -> None:
    for error in (BadInput, IndexUnavailable, UnknownPackage):
        assert issubclass(error, DepgraphError)
