"""PyPI's JSON API, from recorded responses."""

from __future__ import annotations

import pytest
from packaging.version import Version

from depgraph.errors import UnknownPackage
from depgraph.sources.http import Http
from depgraph.sources.indexes import pypi_json_url
from depgraph.sources.pypi import fetch_project_info
from depgraph.sources.simple import fetch_project_page, release_files
from tests.replay import Replay


def test_json_api_agrees_with_the_simple_api(replay: Replay) -> None:
    http = Http()
    info = fetch_project_info(http, pypi_json_url(replay.pypi_simple_url()), "Flask_Login")
    files = release_files(fetch_project_page(http, replay.pypi_simple_url(), "flask-login"), "flask-login", "pypi")
    assert info.name == "Flask-Login" and info.summary
    simple = {(str(f.version), f.filename, f.upload_time) for f in files}
    from_json = {(str(v), f.filename, f.upload_time) for v, fs in info.releases.items() for f in fs}
    assert simple == from_json
    kinds = {f.packagetype for f in info.releases[Version("0.4.1")]}
    assert kinds == {"sdist"}  # 0.4.1 had no wheel on PyPI: the blog's "previous version didn't"
    assert info.released(Version("0.5.0")) == min(f.upload_time for f in files if str(f.version) == "0.5.0")


def test_unknown_project_on_the_json_api(replay: Replay) -> None:
    replay.expect_missing("/_pypi/pypi/no-such-project/json")
    with pytest.raises(UnknownPackage, match="no-such-project"):
        fetch_project_info(Http(), pypi_json_url(replay.pypi_simple_url()), "no-such-project")
