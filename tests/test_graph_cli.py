"""The graph model and the CLI's graph/resolve outputs, from recorded PyPI responses."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from depgraph.cli import cli
from depgraph.graph import (
    add_package,
    add_requirement,
    all_requirers,
    dependency_closure,
    graph_from_resolution,
    new_graph,
    requirers,
)
from depgraph.resolve import Resolution
from tests.replay import Replay

SPIKE = ["Flask-Login==0.4.1", "Markdown==3.1.1", "sentry-sdk==0.13.2", "semantic-version==2.8.4"]
ARGS = ["--date", "2020-03-05", "--python", "2.7"]


def resolution(*requirements: str) -> Resolution:
    result = CliRunner().invoke(cli, ["resolve", *requirements, *ARGS, "--format", "json"])
    assert result.exit_code == 0, result.output
    return Resolution.from_dict(json.loads(result.stdout))


def test_graph_nodes_and_edges_follow_the_resolution(replay: Replay) -> None:
    resolved = resolution(*SPIKE)
    graph = graph_from_resolution(resolved)
    assert set(graph.nodes) == {p.name for p in resolved.packages}
    assert graph.graph["roots"] == ["flask-login", "markdown", "semantic-version", "sentry-sdk"]
    for edge in resolved.edges:
        assert graph.edges[edge.source, edge.target]["specifier"] == edge.specifier
    assert graph.nodes["flask-login"]["version"] == "0.4.1"


def test_reverse_lookups_and_closure(replay: Replay) -> None:
    graph = graph_from_resolution(resolution(*SPIKE))
    assert "flask" in requirers(graph, "werkzeug")
    assert "flask-login" in all_requirers(graph, "Werkzeug")
    closure = dependency_closure(graph, "Flask_Login")
    assert "flask" in closure and "markdown" not in closure
    assert nx.is_directed_acyclic_graph(closure)


def test_library_helpers_normalise_names() -> None:
    graph = new_graph(["Flask_Login"])
    add_package(graph, "Flask_Login", "0.4.1")
    add_package(graph, "Flask", "0.12.5")
    add_requirement(graph, "Flask.Login", "FLASK", ">=0.12")
    assert graph.graph["roots"] == ["flask-login"]
    assert requirers(graph, "flask") == ["flask-login"]


@pytest.mark.parametrize("suffix", [".json", ".dot", ".svg", ".mmd"])
def test_graph_command_writes_each_format(replay: Replay, tmp_path: Path, suffix: str) -> None:
    if suffix == ".svg" and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (the README's setup installs it)")
    out = tmp_path / f"graph{suffix}"
    result = CliRunner().invoke(cli, ["graph", *SPIKE, *ARGS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    names = {p.name for p in resolution(*SPIKE).packages}
    if suffix == ".json":
        assert {n["id"] for n in json.loads(text)["nodes"]} == names
    elif suffix == ".dot":
        assert text.startswith("digraph") and all(f'"{n}"' in text or f"\t{n} " in text for n in names)
    elif suffix == ".mmd":
        assert text.startswith("flowchart") and all(f'"{n}' in text for n in names)
    else:
        titles = {t.text for t in ET.fromstring(text).iter("{http://www.w3.org/2000/svg}title")}
        assert names <= titles


def test_graph_command_rejects_unknown_extension(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["graph", "flask", "-o", str(tmp_path / "graph.bmp")])
    assert result.exit_code == 2
    assert "graph.bmp" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(("args", "needle"), [
    (["resolve", "foo bar"], "requirement 'foo bar'"),
    (["resolve", "flask", "--date", "2020-02-30"], "--date '2020-02-30'"),
    (["resolve", "flask", "--python", "three"], "--python 'three'"),
    (["resolve", "flask", "--platform", "armv7l"], "platform 'armv7l'"),
    (["resolve", "flask", "--index", "ftp://x"], "index URL 'ftp://x'"),
    (["--offline", "resolve", "flask", "--refresh"], "--refresh"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_unknown_package_fails_with_its_name(replay: Replay) -> None:
    replay.expect_missing("/_pypi/simple/no-such-package-here/")
    result = CliRunner().invoke(cli, ["resolve", "no-such-package-here", *ARGS])
    assert result.exit_code == 1
    assert "no-such-package-here" in result.stderr and "Traceback" not in result.output


def test_offline_with_an_empty_cache_names_what_is_missing(replay: Replay) -> None:
    result = CliRunner().invoke(cli, ["--offline", "resolve", *SPIKE, *ARGS])
    assert result.exit_code == 1
    assert result.stderr.startswith("depgraph: error: offline, and not in the cache: ")
    assert "/simple/" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert replay.requests == []


def test_offline_after_an_online_run_needs_no_server(replay: Replay, isolated_environment: Path) -> None:
    online = CliRunner().invoke(cli, ["resolve", *SPIKE, *ARGS, "--format", "json"])
    assert online.exit_code == 0, online.output
    shutil.rmtree(isolated_environment / "resolutions")  # so the answer must come from the HTTP cache
    seen = len(replay.requests)
    offline = CliRunner().invoke(cli, ["--offline", "resolve", *SPIKE, *ARGS, "--format", "json"])
    assert offline.exit_code == 0, offline.output
    assert json.loads(offline.stdout)["packages"] == json.loads(online.stdout)["packages"]
    assert len(replay.requests) == seen


def test_a_past_day_is_resolved_once_and_kept(replay: Replay) -> None:
    first = CliRunner().invoke(cli, ["resolve", *SPIKE, *ARGS, "--format", "json"])
    asked = len(replay.requests)
    again = CliRunner().invoke(cli, ["resolve", *SPIKE, *ARGS, "--format", "json"])
    assert again.stdout == first.stdout and len(replay.requests) == asked
    refreshed = CliRunner().invoke(cli, ["resolve", *SPIKE, *ARGS, "--format", "json", "--refresh"])
    assert refreshed.stdout == first.stdout and len(replay.requests) > asked
