"""PyPI first and piwheels as the extra index, as Raspberry Pi OS configures pip."""

from __future__ import annotations

import json

from click.testing import CliRunner

from depgraph.cli import cli
from tests.replay import Replay

ARGS = ["--date", "2020-03-05", "--python", "2.7", "--platform", "linux_armv7l", "--format", "json"]


def packages(*args: str) -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["resolve", *args, *ARGS])
    assert result.exit_code == 0, result.output
    return {p["name"]: p for p in json.loads(result.stdout)["packages"]}


def test_an_sdist_only_release_on_pypi_is_taken_from_piwheels(piwheels_replay: Replay) -> None:
    # piwheels' wheel bodies are not in the fixture (its site cannot be reached from here): the range
    # read of that wheel fails, and the release's metadata comes from PyPI's sdist of the same version.
    piwheels_replay.expect_missing("/_piwheels/simple/flask-login/Flask_Login-0.4.1-py2.py3-none-any.whl")
    found = packages("Flask-Login==0.4.1", "--index", "pypi", "--index", "piwheels")
    flask_login = found["flask-login"]
    assert (flask_login["index"], flask_login["file"]) == ("piwheels", "Flask_Login-0.4.1-py2.py3-none-any.whl")
    assert flask_login["metadata_source"] == "sdist-requires-txt of Flask-Login-0.4.1.tar.gz"
    assert not flask_login["unknown"]
    assert "flask" in found


def test_the_same_universal_wheel_on_both_is_taken_from_the_first_index(piwheels_replay: Replay) -> None:
    piwheels_replay.expect_missing("/_piwheels/simple/semantic-version/semantic_version-2.8.4-py2.py3-none-any.whl")
    found = packages("semantic-version==2.8.4", "--index", "pypi", "--index", "piwheels")
    assert found["semantic-version"]["index"] == "pypi"
    piwheels_first = packages("semantic-version==2.8.4", "--index", "piwheels", "--index", "pypi", "--refresh")
    assert piwheels_first["semantic-version"]["index"] == "piwheels"
