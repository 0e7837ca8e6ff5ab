"""piwheels' project JSON and v0.15 Simple pages, served on loopback from the generated fixtures.

The piwheels responses in ``fixtures/recordings/piwheels`` are written by ``fixtures/piwheels.py`` from the
recorded PyPI data (piwheels itself cannot be reached); see ``fixtures/piwheels-README.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest
from packaging.version import Version
from pytest_httpserver import HTTPServer

from depgraph.environment import TargetEnvironment
from depgraph.errors import IndexUnavailable, UnknownPackage
from depgraph.sources.http import Http
from depgraph.sources.indexes import piwheels_url, pypi_json_url, pypi_simple_url
from depgraph.sources.piwheels import (
    PiwheelsProject,
    PiwheelsRelease,
    fetch_piwheels_project,
    parse_piwheels_project,
    piwheels_release_files,
)
from depgraph.sources.pypi import fetch_project_info
from depgraph.sources.simple import ReleaseFile, fetch_project_page, release_files
from tests.replay import FIXTURES, Replay

RECORDINGS = FIXTURES / "recordings"
PROJECTS = ("flask-login", "markdown", "sentry-sdk", "semantic-version", "flask", "werkzeug", "jinja2",
            "itsdangerous", "click", "markupsafe", "urllib3", "certifi", "setuptools")
CUTOFF = datetime(2020, 3, 11, tzinfo=UTC)
# The keys, in order, that TheScribe.write_project_json (piwheels/master/the_scribe.py) writes.
PROJECT_KEYS = ["package", "summary", "pypi_url", "piwheels_url", "releases"]
RELEASE_KEYS = ["released", "prerelease", "yanked", "skip_reason", "files"]
FILE_KEYS = ["file_url", "filehash", "filesize", "builder_abi", "file_abi_tag", "platform", "requires_python",
             "apt_dependencies", "pip_dependencies"]
PY27_ARM = TargetEnvironment.create("2.7", "linux_armv7l")
PY37_ARM = TargetEnvironment.create("3.7", "linux_armv7l")


@pytest.fixture
def http() -> Iterator[Http]:
    client = Http()
    yield client
    client.close()


def json_files(http: Http, name: str) -> list[ReleaseFile]:
    return piwheels_release_files(fetch_piwheels_project(http, piwheels_url(), name), piwheels_url())


def release(project: PiwheelsProject, version: str) -> PiwheelsRelease:
    return next(r for r in project.releases if r.version == version)


def accepts(target: TargetEnvironment, file: ReleaseFile) -> bool:
    return bool(file.tags & target.supported_tags.keys())


def test_project_json_parses_over_loopback(piwheels_replay: Replay, http: Http) -> None:
    project = fetch_piwheels_project(http, piwheels_url(), "Flask-Login")
    assert project.package == "flask-login"
    assert project.summary == "User authentication and session management for Flask."
    assert project.url == piwheels_url() + "project/flask-login/json/"
    assert project.piwheels_url == piwheels_replay.url("piwheels") + "/project/flask-login"
    assert [r.version for r in project.releases][:3] == ["0.5.0", "0.4.1", "0.4.0"]
    old = release(project, "0.4.1")
    assert old.released == datetime(2017, 12, 2, 2, 35, 30, tzinfo=UTC)
    assert (old.prerelease, old.yanked, old.skip_reason) == (False, False, "")
    (wheel,) = old.files
    assert wheel.filename == "Flask_Login-0.4.1-py2.py3-none-any.whl"
    assert (wheel.file_abi_tag, wheel.platform, wheel.pip_dependencies) == ("none", "any", ())


def test_released_is_pypi_first_upload_and_before_the_cutoff(piwheels_replay: Replay, http: Http) -> None:
    project = fetch_piwheels_project(http, piwheels_url(), "flask-login")
    pypi = fetch_project_info(http, pypi_json_url(pypi_simple_url()), "flask-login")
    for item in project.releases:
        first_upload = pypi.released(Version(item.version))
        assert first_upload is not None
        assert item.released == first_upload.replace(microsecond=0)
        assert item.released < CUTOFF
    assert "0.6.0" not in {r.version for r in project.releases}  # released after 2020-03-10


def test_flask_login_041_wheel_fits_python_27(piwheels_replay: Replay, http: Http) -> None:
    files = {str(f.version): f for f in json_files(http, "flask-login")}
    wheel = files["0.4.1"]
    assert wheel.filename == "Flask_Login-0.4.1-py2.py3-none-any.whl"
    assert accepts(PY27_ARM, wheel)
    assert wheel.url == piwheels_url() + "simple/flask-login/Flask_Login-0.4.1-py2.py3-none-any.whl"
    assert wheel.upload_time == datetime(2017, 12, 2, 2, 35, 30, tzinfo=UTC)
    assert (wheel.index, wheel.kind, wheel.has_metadata, wheel.yanked) == ("piwheels", "wheel", False, False)
    assert wheel.sha256 is not None and len(wheel.sha256) == 64
    assert not accepts(PY27_ARM, files["0.3.2"])  # built on Python 3 from a non-universal sdist: py3 only


@pytest.mark.parametrize("name", PROJECTS)
def test_simple_page_lists_the_json_files(piwheels_replay: Replay, http: Http, name: str) -> None:
    page = fetch_project_page(http, urljoin(piwheels_url(), "simple/"), name)
    from_html = release_files(page, name, "piwheels")
    from_json = json_files(http, name)
    assert from_html
    assert sorted((f.filename, f.sha256, f.url) for f in from_html) == \
        sorted((f.filename, f.sha256, f.url) for f in from_json)
    assert all(f.requires_python is None and f.upload_time is None and not f.yanked for f in from_html)


def test_html_page_hides_the_requires_python_the_json_has(piwheels_replay: Replay, http: Http) -> None:
    """Markdown 3.2.1 requires Python 3.5, but v0.15's page did not say so: Python 2 clients saw its wheel."""
    page = fetch_project_page(http, urljoin(piwheels_url(), "simple/"), "markdown")
    html = {str(f.version): f for f in release_files(page, "markdown", "piwheels")}["3.2.1"]
    listed = {str(f.version): f for f in json_files(http, "markdown")}["3.2.1"]
    assert listed.requires_python == ">=3.5" and not PY27_ARM.allows_python(listed.requires_python)
    assert html.requires_python is None and accepts(PY27_ARM, html)


def test_markupsafe_is_compiled_for_python_3_only(piwheels_replay: Replay, http: Http) -> None:
    files = [f for f in json_files(http, "markupsafe") if str(f.version) == "1.1.1"]
    assert sorted(f.filename for f in files) == [
        "MarkupSafe-1.1.1-cp35-cp35m-linux_armv6l.whl", "MarkupSafe-1.1.1-cp35-cp35m-linux_armv7l.whl",
        "MarkupSafe-1.1.1-cp37-cp37m-linux_armv6l.whl", "MarkupSafe-1.1.1-cp37-cp37m-linux_armv7l.whl"]
    assert not any(accepts(PY27_ARM, f) for f in files)
    assert [f.filename for f in files if accepts(PY37_ARM, f)] == ["MarkupSafe-1.1.1-cp37-cp37m-linux_armv7l.whl"]
    by_name = {f.filename: f.sha256 for f in files}
    twin, armv7l = "MarkupSafe-1.1.1-cp37-cp37m-linux_armv6l.whl", "MarkupSafe-1.1.1-cp37-cp37m-linux_armv7l.whl"
    assert by_name[twin] == by_name[armv7l]  # hard links


def test_unknown_project(piwheels_replay: Replay, http: Http) -> None:
    with pytest.raises(UnknownPackage, match="no-such-project"):
        fetch_piwheels_project(http, piwheels_url(), "no-such-project")
    with pytest.raises(UnknownPackage, match="no-such-project"):
        fetch_project_page(http, urljoin(piwheels_url(), "simple/"), "no-such-project")


@pytest.mark.parametrize("body", [
    "<html>not json</html>",
    "[]",
    '{"package": "broken"}',
    '{"package": "broken", "releases": []}',
    '{"package": 7, "releases": {}}',
    '{"package": "broken", "releases": {"1.0": {"released": "yesterday", "files": {}}}}',
    '{"package": "broken", "releases": {"1.0": {"files": {"broken-1.0-py3-none-any.whl": {"filesize": "big"}}}}}',
    '{"package": "broken", "releases": {"1.0": {"files": {"broken-1.0-py3-none-any.whl": {"apt_dependencies": 1}}}}}',
    '{"package": "broken", "releases": {"1.0": {"yanked": "no", "files": {}}}}',
])
def test_wrong_shape_is_index_unavailable(httpserver: HTTPServer, http: Http, body: str) -> None:
    httpserver.expect_request("/project/broken/json/").respond_with_data(body, content_type="application/json")
    url = httpserver.url_for("/project/broken/json/")
    with pytest.raises(IndexUnavailable) as caught:
        fetch_piwheels_project(http, httpserver.url_for("/"), "broken")
    assert url in str(caught.value) and "\n" not in str(caught.value)


def test_older_api_without_optional_keys() -> None:
    """v0.19 of the API had no file_url, requires_python or pip_dependencies, and a zone on released."""
    data = {"package": "flask-login", "summary": None, "releases": {"0.5.0": {
        "released": "2020-02-09 16:55:42 UTC", "prerelease": False, "yanked": False, "skip_reason": "",
        "files": {"Flask_Login-0.5.0-py2.py3-none-any.whl": {
            "filehash": "ab" * 32, "filesize": 16039, "builder_abi": "cp37m", "file_abi_tag": "none",
            "platform": "any", "apt_dependencies": []}}}}}
    project = parse_piwheels_project(data, "https://mirror.example/pi/project/flask-login/json/")
    (wheel,) = piwheels_release_files(project, "https://mirror.example/pi")
    assert wheel.url == "https://mirror.example/pi/simple/flask-login/Flask_Login-0.5.0-py2.py3-none-any.whl"
    assert wheel.upload_time == datetime(2020, 2, 9, 16, 55, 42, tzinfo=UTC)
    assert (wheel.requires_python, wheel.size, project.summary) == (None, 16039, "")
    assert project.releases[0].files[0].pip_dependencies is None


def test_files_of_other_projects_and_sdists_are_skipped() -> None:
    data = {"package": "flask-login", "releases": {"0.5.0": {"files": {
        "Flask_Login-0.5.0-py2.py3-none-any.whl": {}, "Other-1.0-py3-none-any.whl": {},
        "Flask-Login-0.5.0.tar.gz": {}, "not a wheel.whl": {}}}}}
    files = piwheels_release_files(parse_piwheels_project(data, "u"), "https://mirror.example/pi/")
    assert [f.filename for f in files] == ["Flask_Login-0.5.0-py2.py3-none-any.whl"]
    assert files[0].upload_time is None and files[0].sha256 is None


@pytest.mark.parametrize("name", PROJECTS)
def test_generated_json_has_the_shape_piwheels_writes(name: str) -> None:
    index = json.loads((RECORDINGS / "piwheels" / "index.json").read_text(encoding="utf-8"))
    entry = next(e for e in index if e["url"] == "{{piwheels}}/project/" + name + "/json/")
    text = (RECORDINGS / "piwheels" / "bodies" / entry["body"]).read_text(encoding="utf-8")
    data = json.loads(text)
    assert json.dumps(data) == text  # json.dump's default spacing, no trailing newline
    assert list(data) == PROJECT_KEYS and data["package"] == name
    versions = [Version(v) for v in data["releases"]]
    assert versions == sorted(versions, reverse=True)
    for item in data["releases"].values():
        assert list(item) == RELEASE_KEYS
        assert datetime.strptime(item["released"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) < CUTOFF
        for file in item["files"].values():
            assert list(file) == FILE_KEYS
