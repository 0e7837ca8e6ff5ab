"""The seed case: OctoPrint 1.4.0 as of 2020-03-05, resolved from recorded PyPI responses."""

from __future__ import annotations

import json

from click.testing import CliRunner
from packaging.requirements import Requirement

from depgraph.cli import cli
from depgraph.environment import TargetEnvironment
from depgraph.sources.http import Http
from depgraph.sources.metadata import fetch_metadata
from depgraph.sources.simple import fetch_project_page, release_files
from tests.replay import Replay


def resolve_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["resolve", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def pins(data: dict) -> dict[str, str]:
    return {p["name"]: p["version"] for p in data["packages"]}


def python2_only_requirements(replay: Replay) -> set[str]:
    """OctoPrint 1.4.0's requirements whose markers hold on Python 2.7 but not on 3.7, from its metadata."""
    http = Http()
    files = release_files(fetch_project_page(http, replay.pypi_simple_url(), "octoprint"), "octoprint", "pypi")
    wheel = next(f for f in files if str(f.version) == "1.4.0" and f.kind == "wheel")
    py2, py3 = TargetEnvironment.create("2.7").markers, TargetEnvironment.create("3.7").markers
    names = set()
    for requirement in map(Requirement, fetch_metadata(http, wheel).requires_dist):
        marker = requirement.marker
        if marker and marker.evaluate({**py2, "extra": ""}) and not marker.evaluate({**py3, "extra": ""}):
            names.add(requirement.name)
    return names


def test_python37_closure_has_the_spiking_pins(replay: Replay) -> None:
    found = pins(resolve_json("OctoPrint==1.4.0", "--date", "2020-03-05", "--python", "3.7"))
    assert len(found) == 49
    expected = {"flask": "0.12.5", "flask-login": "0.4.1", "markdown": "3.1.1", "sentry-sdk": "0.13.2",
                "semantic-version": "2.8.4", "werkzeug": "0.16.1", "tornado": "4.5.3"}
    assert {name: found.get(name) for name in expected} == expected


def test_python27_closure_adds_the_python2_backports(replay: Replay) -> None:
    py37 = pins(resolve_json("OctoPrint==1.4.0", "--date", "2020-03-05", "--python", "3.7"))
    py27 = pins(resolve_json("OctoPrint==1.4.0", "--date", "2020-03-05", "--python", "2.7"))
    backports = python2_only_requirements(replay)
    assert backports == {"futures", "monotonic", "scandir", "chainmap", "typing"}
    assert set(py37) | backports <= set(py27)
    assert not set(py27) - set(py37) - backports


def test_json_shape_and_edges(replay: Replay) -> None:
    data = resolve_json("OctoPrint==1.4.0", "--date", "2020-03-05", "--python", "2.7")
    assert data["roots"] == ["octoprint"]
    assert data["date"] == "2020-03-05"
    names = {p["name"] for p in data["packages"]}
    for edge in data["edges"]:
        assert {"from", "to", "specifier", "marker", "extra"} <= edge.keys()
        assert edge["from"] in names and edge["to"] in names
    futures = [e for e in data["edges"] if e["to"] == "futures"]
    assert any(e["from"] == "octoprint" and "python_version" in (e["marker"] or "") for e in futures)
    for package in data["packages"]:
        assert package["unknown"] == (package["metadata_source"] == "unknown")


def test_python2_only_release_does_not_resolve_for_python3(replay: Replay) -> None:
    result = CliRunner().invoke(cli, ["resolve", "OctoPrint==1.3.12", "--date", "2020-03-05", "--python", "3.7"])
    assert result.exit_code == 1
    assert "no resolution for OctoPrint==1.3.12 on Python 3.7" in result.stderr
    assert "Traceback" not in result.output
