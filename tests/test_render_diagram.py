"""Dependency diagrams (Graphviz DOT and Mermaid) of a spike and of a dependency graph, and writing them to files.

``tests/data/explanation-2020-03-05.json`` is ``depgraph explain Flask-Login --date 2020-03-05 --format json`` on the
bundled reconstruction: a simulation calibrated to the figures published in the piwheels blog, not real logs.
The golden files are in ``tests/data/golden``; ``DEPGRAPH_UPDATE_GOLDEN=1`` rewrites them instead of comparing
(review the diff, then run again without it).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from depgraph.errors import BadInput, DepgraphError
from depgraph.graph import add_package, add_requirement, new_graph
from depgraph.render.dot import (
    DIAGRAM_SUFFIXES,
    LEGEND_BINS,
    dependency_dot,
    downloads_text,
    explanation_dot,
    ratio_bin,
    readable_font,
    write_diagram,
)
from depgraph.render.mermaid import dependency_mermaid, escape, explanation_mermaid

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
EXPLANATION: dict[str, Any] = json.loads((DATA / "explanation-2020-03-05.json").read_text(encoding="utf-8"))
NODES = EXPLANATION["diagram"]["nodes"]
EDGES = EXPLANATION["diagram"]["edges"]
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ['a"b<script>', "back\\slash\\", "new\nline", "{curly}", "close]", "pi|pe", "arrow-->x", "port:name",
           "<b>bold</b>", "`tick`", "#quot;", "x\\\"]; evil [label=\"boom", "node", "end"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed (the README's setup installs it)")


def packages(role: str) -> list[str]:
    return [n["package"] for n in NODES if n["role"] == role]


def not_following() -> list[tuple[str, str]]:
    spiking = {n["package"] for n in NODES if n["spike"]}
    return [(e["source"], e["target"]) for e in EDGES
            if e["kind"] == "requires" and e["source"] in spiking and e["target"] not in spiking]


def fixture_graph() -> tuple[nx.DiGraph, dict[str, dict[str, Any]]]:
    """The fixture's cluster and dependencies as a dependency graph, and its download figures as stats."""
    graph = new_graph(packages("spiking"))
    for node in NODES:
        if node["role"] != "suspect":
            add_package(graph, node["package"], node["version"])
    for edge in EDGES:
        if edge["kind"] == "requires":
            add_requirement(graph, edge["source"], edge["target"], edge["specifier"])
    stats = {n["package"]: {k: n[k] for k in ("count", "baseline", "ratio", "spike")} for n in NODES}
    return graph, stats


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("DEPGRAPH_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"rewrote {path}; review the diff, then run again without DEPGRAPH_UPDATE_GOLDEN")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs: if intended, DEPGRAPH_UPDATE_GOLDEN=1"


def render_svg(dot_text: str, tmp_path: Path) -> ET.Element:
    out = tmp_path / "diagram.svg"
    write_diagram(out, dot_text, "")
    return ET.fromstring(out.read_text(encoding="utf-8"))


def svg_groups(root: ET.Element, kind: str) -> dict[str, ET.Element]:
    """The SVG's node or edge groups by their <title> (a node's ID, ``a->b`` for an edge)."""
    return {g.findtext(f"{SVG}title"): g for g in root.iter(f"{SVG}g") if g.get("class") == kind}


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def hostile_explanation() -> dict[str, Any]:
    nodes = [{"package": "spiky", "version": "1.0", "role": "spiking", "count": 500, "baseline": 2.0, "ratio": 250.0,
              "spike": True},
             {"package": 'sus"<p>', "version": '1<"2>', "role": "suspect", "released": "2020-03-04T11:46:08"}]
    nodes += [{"package": name, "version": "1.0", "role": "dependency", "count": 1, "baseline": 1.0, "ratio": 1.0,
               "spike": False} for name in HOSTILE]
    edges = [{"source": "spiky", "target": name, "specifier": '>"1"<|]', "kind": "requires"} for name in HOSTILE]
    edges += [{"source": 'sus"<p>', "target": "spiky", "specifier": "<'2\"", "kind": "changed"},
              {"source": 'sus"<p>', "target": HOSTILE[0], "specifier": "", "kind": "unchanged"}]
    return {"package": HOSTILE[0], "date": "2020-03-05", "diagram": {"nodes": nodes, "edges": edges}}


def hostile_graph() -> nx.DiGraph:
    graph = new_graph()
    graph.add_node("spiky", version="1.0", unknown=False)
    for name in HOSTILE:
        graph.add_node(name, version='1<"2>', unknown=False)
        graph.add_edge("spiky", name, specifier='>"1"<|]', extra="")
    return graph


# --- golden texts -------------------------------------------------------------------------------------------------

def test_explanation_dot_matches_golden() -> None:
    assert_golden("explanation.dot", explanation_dot(EXPLANATION))


def test_explanation_mermaid_matches_golden() -> None:
    assert_golden("explanation.mmd", explanation_mermaid(EXPLANATION))


@pytest.mark.parametrize(("name", "render"), [
    ("graph.dot", lambda graph, stats: dependency_dot(graph)),
    ("graph.mmd", lambda graph, stats: dependency_mermaid(graph)),
    ("graph-downloads.dot", lambda graph, stats: dependency_dot(graph, stats=stats)),
    ("graph-downloads.mmd", lambda graph, stats: dependency_mermaid(graph, stats)),
])
def test_dependency_graph_matches_golden(name: str, render: Any) -> None:
    assert_golden(name, render(*fixture_graph()))


def test_order_of_the_input_does_not_change_the_text() -> None:
    shuffled = copy.deepcopy(EXPLANATION)
    shuffled["diagram"]["nodes"].reverse()
    shuffled["diagram"]["edges"].reverse()
    assert explanation_dot(shuffled) == explanation_dot(EXPLANATION)
    assert explanation_mermaid(shuffled) == explanation_mermaid(EXPLANATION)


# --- what the diagram says ----------------------------------------------------------------------------------------

@needs_dot
def test_svg_parses_and_names_every_package_of_the_cluster_and_the_suspect(tmp_path: Path) -> None:
    root = render_svg(explanation_dot(EXPLANATION), tmp_path)
    nodes = svg_groups(root, "node")
    for node in NODES:
        head = " ".join(part for part in (node["package"], node["version"]) if part)
        assert head in texts(nodes[node["package"]]), node["package"]
    legend = " ".join(texts(root))
    assert all(b.text in legend for b in LEGEND_BINS) and "downloads that day / baseline" in legend
    assert "9,765 / baseline 113 (86x)" in texts(nodes[EXPLANATION["package"]])


@needs_dot
def test_the_suspect_is_drawn_above_the_cluster_and_the_cluster_above_its_dependencies(tmp_path: Path) -> None:
    nodes = svg_groups(render_svg(explanation_dot(EXPLANATION), tmp_path), "node")

    def top(package: str) -> float:
        return min(float(t.get("y", "0")) for t in nodes[package].iter(f"{SVG}text"))

    (suspect,) = packages("suspect")
    assert top(suspect) < min(top(p) for p in packages("spiking"))
    assert max(top(p) for p in packages("spiking")) < min(top(p) for p in packages("dependency"))


@needs_dot
def test_dependencies_that_did_not_follow_are_dashed_and_said(tmp_path: Path) -> None:
    edges = svg_groups(render_svg(explanation_dot(EXPLANATION), tmp_path), "edge")
    assert not_following(), "the fixture has dependencies that did not follow"
    for source, target in not_following():
        edge = edges[f"{source}->{target}"]
        assert edge.find(f"{SVG}path").get("stroke-dasharray"), (source, target)
        assert "did not follow" in texts(edge)
    changed = [e for e in EDGES if e["kind"] == "changed"]
    for e in changed:
        edge = edges[f"{e['source']}->{e['target']}"]
        assert edge.find(f"{SVG}path").get("stroke-width") == "2.2" and e["specifier"] in texts(edge)


def test_dot_emphasises_spiking_packages_and_puts_the_suspect_at_the_top() -> None:
    text = explanation_dot(EXPLANATION)
    suspects = text[text.index("subgraph suspects"):text.index("}", text.index("subgraph suspects"))]
    assert "rank=min" in suspects and all(p in suspects for p in packages("suspect"))
    for package in packages("spiking"):
        line = next(line for line in text.splitlines() if line.strip().startswith((f'"{package}" [', f"{package} [")))
        assert "penwidth=3" in line and "Helvetica-Bold" in line


def test_mermaid_classes_and_arrows() -> None:
    text = explanation_mermaid(EXPLANATION)
    assert text.startswith("flowchart TB\n")
    assert text.count(" ==>") == sum(e["kind"] == "changed" for e in EDGES)
    assert text.count(" -.->|\"did not follow") == len(not_following())
    assert all(f"classDef bin{i} " in text for i in range(len(LEGEND_BINS)))
    assert all(b.text in text for b in LEGEND_BINS)
    assert "classDef spiking " in text and "class n0 suspect" in text
    assert "linkStyle " in text


def test_unchanged_requirements_are_faint() -> None:
    data = copy.deepcopy(EXPLANATION)
    for edge in data["diagram"]["edges"]:
        if edge["kind"] == "changed":
            edge["kind"] = "unchanged"
    dot = explanation_dot(data)
    assert "style=dotted" in dot and "(unchanged)" in dot and "penwidth=2.2" not in dot
    assert "==>" not in explanation_mermaid(data)


@pytest.mark.parametrize(("stat", "expected"), [
    ({"count": None}, None),
    ({"count": 0, "baseline": 0.0, "ratio": None}, "no downloads"),
    ({"count": 16, "baseline": 12.0, "ratio": 1.333}, "below 1.5x"),
    ({"count": 3, "baseline": 2.0, "ratio": 1.5}, "1.5x to 3x"),
    ({"count": 3, "baseline": 1.0, "ratio": 3.0}, "3x to 10x"),
    ({"count": 999, "baseline": 10.0, "ratio": 99.9}, "10x to 100x"),
    ({"count": 1000, "baseline": 10.0, "ratio": 100.0}, "100x or more, or new"),
    ({"count": 4828, "baseline": 0.0, "ratio": None}, "100x or more, or new"),
])
def test_ratio_bins(stat: dict[str, Any], expected: str | None) -> None:
    found = ratio_bin(stat)
    assert (found.text if found else None) == expected


@pytest.mark.parametrize(("stat", "expected"), [
    ({"count": 9765, "baseline": 113.0, "ratio": 86.416}, "9,765 / baseline 113 (86x)"),
    ({"count": 4831, "baseline": 3.0, "ratio": 1610.333}, "4,831 / baseline 3 (1,610x)"),
    ({"count": 36, "baseline": 32.5, "ratio": 1.108}, "36 / baseline 32.5 (1.1x)"),
    ({"count": 4828, "baseline": 0.0, "ratio": None}, "4,828 / baseline 0 (new)"),
    ({"count": 0, "baseline": 0.0, "ratio": None}, "0 / baseline 0"),
    ({"count": None}, None),
])
def test_downloads_text(stat: dict[str, Any], expected: str | None) -> None:
    assert downloads_text(stat) == expected


def contrast(first: str, second: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_colour_class_has_readable_text_and_the_scale_darkens() -> None:
    assert all(contrast(b.fill, b.font) >= 4.5 for b in LEGEND_BINS)
    assert readable_font(LEGEND_BINS[-1].fill) == "#ffffff"
    darkness = [contrast(b.fill, "#ffffff") for b in LEGEND_BINS]
    assert darkness == sorted(darkness)


def test_an_explanation_without_a_diagram_is_refused() -> None:
    with pytest.raises(BadInput, match="no diagram"):
        explanation_dot({**EXPLANATION, "diagram": None})
    with pytest.raises(BadInput, match="no diagram"):
        explanation_mermaid({"package": "x"})


# --- hostile names ------------------------------------------------------------------------------------------------

@needs_dot
def test_hostile_names_survive_dot_and_svg(tmp_path: Path) -> None:
    data = hostile_explanation()
    dot_file = tmp_path / "hostile.dot"
    write_diagram(dot_file, explanation_dot(data), "")
    run = subprocess.run(["dot", "-Tsvg", str(dot_file)], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert "<script" not in run.stdout
    root = ET.fromstring(run.stdout)
    assert not [e for e in root.iter() if "script" in e.tag.lower()]
    nodes = svg_groups(root, "node")
    assert len(nodes) == len(data["diagram"]["nodes"]) + 1  # and the legend: no name broke out into a statement
    shown = texts(root)
    for name in HOSTILE:
        assert f"{name.replace(chr(10), ' ')} 1.0" in shown, name
    assert 'sus"<p> 1<"2>' in shown and ">\"1\"<|]" in shown
    assert f'{HOSTILE[0]} on 2020-03-05: downloads that day against the baseline' in shown


@needs_dot
def test_hostile_names_survive_the_dependency_graph(tmp_path: Path) -> None:
    graph = hostile_graph()
    for stats in (None, {"spiky": {"count": 9, "baseline": 1.0, "ratio": 9.0, "spike": True}}):
        root = render_svg(dependency_dot(graph, 'title "<x>"', stats), tmp_path)
        assert len(svg_groups(root, "node")) == graph.number_of_nodes() + (stats is not None)
        shown = texts(root)
        assert all(name.replace("\n", " ") in shown for name in HOSTILE) and 'title "<x>"' in shown
        assert len(svg_groups(root, "edge")) == graph.number_of_edges()


def mermaid_labels(text: str) -> list[str]:
    """The text between each line's pair of label quotes; every line has none or one pair."""
    labels = []
    for line in text.splitlines():
        assert line.count('"') in (0, 2), line
        if '"' in line:
            labels.append(line.split('"')[1])
    return labels


@pytest.mark.parametrize("render", [lambda: explanation_mermaid(hostile_explanation()),
                                    lambda: dependency_mermaid(hostile_graph())])
def test_hostile_names_survive_mermaid(render: Any) -> None:
    text = render()
    for label in mermaid_labels(text):
        bare = label.replace("<br/>", "")
        assert not set(bare) & set('"<>|[]{}`\\\n'), label
        assert "-->" not in bare
    for name in HOSTILE:
        assert escape(name) in text
    node_lines = [line for line in text.splitlines() if line.startswith("    n") and "[" in line and "->" not in line
                  and "==>" not in line]
    assert len(node_lines) == len(HOSTILE) + (2 if "suspect" in text else 1)


def test_mermaid_escape_uses_entity_codes() -> None:
    assert escape('a"b<script>') == "a#quot;b#lt;script#gt;"
    assert escape("#quot;") == "#35;quot#59;"
    assert escape("pi|pe`x`") == "pi#124;pe#96;x#96;"
    assert escape("flask-login 0.4.1 (86x)") == "flask-login 0.4.1 (86x)"


# --- writing files ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "magic"), [(".dot", b"digraph"), (".mmd", b"flowchart TB"), (".svg", b"<?xml"),
                                               (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_write_diagram_by_suffix(tmp_path: Path, suffix: str, magic: bytes) -> None:
    if suffix in (".svg", ".png", ".pdf") and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (the README's setup installs it)")
    out = tmp_path / f"spike{suffix.upper() if suffix == '.png' else suffix}"
    write_diagram(out, explanation_dot(EXPLANATION), explanation_mermaid(EXPLANATION))
    assert out.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_without_dot_text_formats_still_work_and_images_say_how_to_install(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    dot_text, mermaid_text = explanation_dot(EXPLANATION), explanation_mermaid(EXPLANATION)
    write_diagram(tmp_path / "spike.dot", dot_text, mermaid_text)
    write_diagram(tmp_path / "spike.mmd", dot_text, mermaid_text)
    assert (tmp_path / "spike.dot").read_text(encoding="utf-8") == dot_text
    assert (tmp_path / "spike.mmd").read_text(encoding="utf-8") == mermaid_text
    with pytest.raises(DepgraphError) as raised:
        write_diagram(tmp_path / "spike.svg", dot_text, mermaid_text)
    message = str(raised.value)
    assert "\n" not in message and "not installed" in message and "apt-get install graphviz" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-path", "spike.dot", "spike.mmd"]


def test_an_unknown_suffix_names_the_accepted_ones(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as raised:
        write_diagram(tmp_path / "spike.gif", "digraph {}", "flowchart TB")
    assert all(suffix in str(raised.value) for suffix in DIAGRAM_SUFFIXES)
    assert not list(tmp_path.iterdir())
