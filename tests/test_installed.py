"""Installed environments: pipdeptree's live view and its saved ``--json`` / ``--json-tree`` files."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from depgraph.errors import BadInput
from depgraph.graph import dependency_closure, requirers
from depgraph.installed import graph_from_environment, graph_from_pipdeptree_json

DATA = Path(__file__).parent / "data" / "pipdeptree"
FLAT = DATA / "flask-venv.json"
TREE = DATA / "flask-venv-tree.json"
PI = DATA / "raspberry-pi-octoprint-tree.json"


def shape(graph: nx.DiGraph) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    """Everything but the graph's own attributes (which name the file), comparable with ``==``."""
    return dict(graph.nodes(data=True)), {(u, v): data for u, v, data in graph.edges(data=True)}


def mandatory_requirements(distribution: str) -> set[tuple[str, str]]:
    """(name, specifier) of what ``distribution`` requires here without extras, from its installed metadata."""
    found = set()
    for line in importlib.metadata.requires(distribution) or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            found.add((canonicalize_name(requirement.name), str(requirement.specifier)))
    return found


def test_json_and_json_tree_of_one_environment_give_the_same_graph() -> None:
    flat, tree = graph_from_pipdeptree_json(FLAT), graph_from_pipdeptree_json(TREE)
    assert shape(flat) == shape(tree)
    assert flat.graph["roots"] == tree.graph["roots"] == ["octo-demo", "pip", "setuptools"]
    assert (flat.graph["pipdeptree_format"], tree.graph["pipdeptree_format"]) == ("json", "json-tree")


def test_captured_environment_details() -> None:
    graph = graph_from_pipdeptree_json(TREE)
    assert graph.nodes["flask"]["version"] == "3.1.3"
    assert graph.nodes["flask"]["metadata_source"] == "installed"
    assert graph.nodes["flask"]["extras"] == ["async"]
    assert graph.edges["flask", "asgiref"] == {"specifier": ">=3.2", "marker": None, "extra": "async"}
    assert graph.edges["octo-demo", "blinker"]["specifier"] == ""
    assert graph.edges["flask-login", "werkzeug"]["specifier"] == ">=1.0.1"
    missing = graph.nodes["itsdangerous"]
    assert (missing["unknown"], missing["unknown_reason"], missing["version"]) == (True, "not installed", None)
    assert not any(data["unknown"] for name, data in graph.nodes(data=True) if name != "itsdangerous")


def test_utf16_file_as_windows_powershell_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_bytes(FLAT.read_text(encoding="utf-8").encode("utf-16"))
    assert shape(graph_from_pipdeptree_json(path)) == shape(graph_from_pipdeptree_json(FLAT))


def test_raspberry_pi_file() -> None:
    graph = graph_from_pipdeptree_json(PI)
    versions = {name: graph.nodes[name]["version"] for name in
                ("flask-login", "markdown", "sentry-sdk", "semantic-version", "flask")}
    assert versions == {"flask-login": "0.4.1", "markdown": "3.1.1", "sentry-sdk": "0.13.2",
                        "semantic-version": "2.8.4", "flask": "0.12.5"}
    assert graph.graph["roots"] == ["octoprint", "pip", "wheel"]
    assert graph.edges["flask-login", "flask"]["specifier"] == ""
    assert graph.edges["octoprint", "flask-login"]["specifier"] == "<0.5,>=0.4.1"
    assert set(dependency_closure(graph, "sentry-sdk")) == {"sentry-sdk", "urllib3", "certifi"}
    assert graph.edges["sentry-sdk", "urllib3"]["specifier"] == ">=1.10.0"
    assert requirers(graph, "Flask") == ["flask-login", "octoprint"]
    assert not any(unknown for _, unknown in graph.nodes(data="unknown"))


def test_live_environment_has_pipdeptree_and_its_requirements() -> None:
    graph = graph_from_environment()
    node = graph.nodes["pipdeptree"]
    assert (node["version"], node["unknown"], node["metadata_source"]) == (
        importlib.metadata.version("pipdeptree"), False, "installed")
    edges = {(target, data["specifier"]) for _, target, data in graph.out_edges("pipdeptree", data=True)}
    assert edges == mandatory_requirements("pipdeptree")
    assert all(data["marker"] is None for *_, data in graph.out_edges("pipdeptree", data=True))
    assert "depgraph" in graph.graph["roots"]
    assert "pipdeptree" not in graph.graph["roots"]


def test_live_environment_matches_pipdeptree_cli_file(tmp_path: Path) -> None:
    saved = tmp_path / "env.json"
    completed = subprocess.run([sys.executable, "-m", "pipdeptree", "--python", sys.executable, "--json"],
                               capture_output=True, check=True)
    saved.write_bytes(completed.stdout)
    assert shape(graph_from_environment(sys.executable)) == shape(graph_from_pipdeptree_json(saved))
    assert shape(graph_from_environment()) == shape(graph_from_pipdeptree_json(saved))


def test_live_environment_of_a_missing_interpreter(tmp_path: Path) -> None:
    missing = tmp_path / "bin" / "python"
    with pytest.raises(BadInput, match="cannot inspect the Python interpreter") as caught:
        graph_from_environment(str(missing))
    assert str(missing) in str(caught.value)


def flat_entry(key: str, version: str, dependencies: list[dict[str, Any]]) -> dict[str, Any]:
    return {"package": {"key": key, "package_name": key, "installed_version": version},
            "dependencies": dependencies}


def tree_node(key: str, version: str, required: str, dependencies: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "package_name": key, "installed_version": version, "required_version": required,
            "dependencies": dependencies}


NON_CANONICAL = {
    "json": [flat_entry("Flask_Login", "0.4.1", [{"key": "Flask", "package_name": "Flask",
                                                   "installed_version": "0.12.5", "required_version": "Any"}]),
             flat_entry("Flask", "0.12.5", [])],
    "json-tree": [tree_node("Flask_Login", "0.4.1", "0.4.1", [tree_node("Flask", "0.12.5", "Any", [])])],
}


@pytest.mark.parametrize("fmt", sorted(NON_CANONICAL))
def test_node_names_are_canonical(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps(NON_CANONICAL[fmt]), encoding="utf-8")
    graph = graph_from_pipdeptree_json(path)
    assert sorted(graph) == ["flask", "flask-login"]
    assert list(graph.edges) == [("flask-login", "flask")]
    assert graph.graph["roots"] == ["flask-login"]


def test_pipdeptree_2_0_null_required_version(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    entries = [flat_entry("a", "1", [{"key": "b", "package_name": "b", "installed_version": None,
                                      "required_version": None}])]
    path.write_text(json.dumps(entries), encoding="utf-8")
    graph = graph_from_pipdeptree_json(path)
    assert graph.edges["a", "b"]["specifier"] == ""
    assert graph.nodes["b"]["unknown"] is True


def test_dependency_listed_twice_and_module_without_metadata(tmp_path: Path) -> None:
    """pipdeptree lists a requirement once per extra that activates it; a module found without
    distribution metadata has a version but no entry of its own."""
    path = tmp_path / "env.json"
    b_for_extra = {"key": "b", "package_name": "b", "installed_version": "1", "required_version": ">=2",
                   "extra": "Fast_IO"}
    b_always = {"key": "b", "package_name": "b", "installed_version": "1", "required_version": ">=1"}
    module = {"key": "c", "package_name": "c", "installed_version": "0.9", "required_version": "Any"}
    entries = [flat_entry("a", "1", [b_for_extra, b_always, module]), flat_entry("b", "1", [])]
    path.write_text(json.dumps(entries), encoding="utf-8")
    graph = graph_from_pipdeptree_json(path)
    assert graph.edges["a", "b"] == {"specifier": ">=1", "marker": None, "extra": None}
    node = graph.nodes["c"]
    assert (node["version"], node["unknown"], node["unknown_reason"]) == (
        "0.9", True, "installed without distribution metadata")


DEPENDENCY = {"key": "b", "package_name": "b", "installed_version": "1", "required_version": ">=1"}

BAD_INPUTS: dict[str, bytes] = {
    "empty": b"",
    "blank": b"  \n\n",
    "not json": b"Flask==3.1.3\nJinja2==3.1.6\n",
    "truncated json": FLAT.read_bytes()[:300],
    "binary garbage": bytes(range(256)) * 4,
    "png header": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    "object at top": b'{"package": {"key": "a"}}',
    "list of strings": b'["flask", "jinja2"]',
    "entry without dependencies": json.dumps([{"package": {"key": "a", "installed_version": "1"}}]).encode(),
    "package without key": json.dumps([{"package": {"installed_version": "1"}, "dependencies": []}]).encode(),
    "dependency without required_version": json.dumps(
        [flat_entry("a", "1", [{k: v for k, v in DEPENDENCY.items() if k != "required_version"}])]).encode(),
    "dependencies not a list": json.dumps([flat_entry("a", "1", {"b": ">=1"})]).encode(),  # type: ignore[arg-type]
    "numeric version": json.dumps([flat_entry("a", 1, [])]).encode(),  # type: ignore[arg-type]
    "invalid specifier": json.dumps([flat_entry("a", "1", [{**DEPENDENCY, "required_version": "=>1"}])]).encode(),
    "invalid name": json.dumps([flat_entry("a b!", "1", [])]).encode(),
    "tree node without key": json.dumps([{"installed_version": "1", "dependencies": []}]).encode(),
    "tree child without installed_version": json.dumps(
        [tree_node("a", "1", "1", [{"key": "b", "required_version": "Any", "dependencies": []}])]).encode(),
    "resolved, not installed": json.dumps(
        [{"key": "a", "package_name": "a", "candidate_version": "1", "dependencies": []}]).encode(),
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_file_raises_bad_input_naming_it(tmp_path: Path, case: str) -> None:
    path = tmp_path / "pi-env.json"
    path.write_bytes(BAD_INPUTS[case])
    with pytest.raises(BadInput) as caught:
        graph_from_pipdeptree_json(path)
    assert str(path) in str(caught.value)
    assert "pipdeptree --json" in caught.value.hint
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_unreadable_path_raises_bad_input_naming_it(tmp_path: Path, make: str) -> None:
    path = tmp_path / "pi-env.json"
    if make == "directory":
        path.mkdir()
    with pytest.raises(BadInput, match="cannot read") as caught:
        graph_from_pipdeptree_json(path)
    assert str(path) in str(caught.value)


def test_cli_graphs_a_saved_environment(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from depgraph.cli import cli

    source = Path(__file__).parent / "data" / "pipdeptree" / "raspberry-pi-octoprint-tree.json"
    out = tmp_path / "pi.json"
    result = CliRunner().invoke(cli, ["graph", "--pipdeptree", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = {n["id"] for n in json.loads(out.read_text())["nodes"]}
    assert written == set(graph_from_pipdeptree_json(source).nodes)
    both = CliRunner().invoke(cli, ["graph", "flask", "--pipdeptree", str(source), "-o", str(out)])
    assert both.exit_code == 2 and "exactly one" in both.stderr
