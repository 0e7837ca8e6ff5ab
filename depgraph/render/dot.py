"""Graphviz DOT for dependency graphs and spike diagrams, and writing diagrams to files.

Every ID and label goes through the ``graphviz`` package's quoting; user text is also passed through
``graphviz.escape`` (backslashes doubled, never taken for an HTML-like ``<...>`` label), and the only HTML-like
label, the legend, holds our own text. ``.dot`` and ``.mmd`` are written as text; ``.svg``, ``.png`` and ``.pdf``
through Graphviz's ``dot`` program.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import graphviz
import networkx as nx

from depgraph.errors import BadInput, DepgraphError

DOT_INSTALL_HINT = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
RENDERED_FORMATS = ("svg", "png", "pdf")
DIAGRAM_SUFFIXES = (".dot", ".svg", ".png", ".pdf", ".mmd")

FONT = "Helvetica"
BOLD_FONT = "Helvetica-Bold"
SUSPECT_FILL = "#deebf7"
CHANGED_COLOUR = "#08519c"
ROLE_ORDER = {"suspect": 0, "spiking": 1, "dependency": 2}
LEGEND_ID = "#legend"  # never a package's ID: those are plain names or #<number>


@dataclass(frozen=True)
class RatioBin:
    """One class of the colour scale: a day's downloads against the baseline, below ``upper`` times."""

    upper: float
    text: str
    fill: str

    @property
    def font(self) -> str:
        return readable_font(self.fill)


NO_DOWNLOADS = RatioBin(0.0, "no downloads", "#ffffff")
RATIO_BINS = (  # ColorBrewer YlOrRd, 5 classes: sequential, colour-blind safe, prints in grey
    RatioBin(1.5, "below 1.5x", "#ffffb2"),
    RatioBin(3.0, "1.5x to 3x", "#fecc5c"),
    RatioBin(10.0, "3x to 10x", "#fd8d3c"),
    RatioBin(100.0, "10x to 100x", "#f03b20"),
    RatioBin(math.inf, "100x or more, or new", "#bd0026"),
)
LEGEND_BINS = (NO_DOWNLOADS, *RATIO_BINS)

EDGE_LEGEND = {  # edge kind -> what the legend says about how it is drawn
    "did-not-follow": "dashed grey arrow: a dependency that did not follow",
    "changed": "bold blue arrow: a requirement changed in the release above",
    "unchanged": "dotted arrow: a requirement unchanged since the previous release",
}


@dataclass(frozen=True)
class DrawnNode:
    """A package as drawn: its ID, role, label lines, colour class (None: no figures) and emphasis."""

    id: str
    package: str
    role: str  # suspect | spiking | dependency
    lines: tuple[str, ...]
    colour: RatioBin | None
    spike: bool


@dataclass(frozen=True)
class DrawnEdge:
    source: str
    target: str
    kind: str  # requires | did-not-follow | changed | unchanged
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Drawing:
    """A spike's diagram in drawing order (suspects, the cluster, dependencies; edges by source then target)."""

    title: str | None
    nodes: tuple[DrawnNode, ...]
    edges: tuple[DrawnEdge, ...]

    def role(self, role: str) -> list[DrawnNode]:
        return [node for node in self.nodes if node.role == role]

    def edge_kinds(self) -> list[str]:
        return sorted({edge.kind for edge in self.edges})

    def any_spike(self) -> bool:
        return any(node.spike for node in self.nodes)


def readable_font(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` (``#rrggbb``, WCAG relative luminance)."""
    channels = [int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


def ratio_bin(stat: Mapping[str, Any]) -> RatioBin | None:
    """The colour class of a day's ``count`` against its baseline; downloads on a zero baseline are the top class."""
    count = stat.get("count")
    if count is None:
        return None
    if not count:
        return NO_DOWNLOADS
    ratio = stat.get("ratio")
    value = math.inf if ratio is None else float(ratio)
    return next((b for b in RATIO_BINS if value < b.upper), RATIO_BINS[-1])


def downloads_text(stat: Mapping[str, Any]) -> str | None:
    """``9,765 / baseline 113 (86x)``; None when there are no figures."""
    count = stat.get("count")
    if count is None:
        return None
    text = f"{count:,} / baseline {_number(stat.get('baseline'))}"
    ratio = stat.get("ratio")
    if ratio is not None:
        return f"{text} ({_times(float(ratio))})"
    return f"{text} (new)" if count else text


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _times(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def _released(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def node_lines(node: Mapping[str, Any]) -> tuple[str, ...]:
    """Name and version, then the day's downloads against the baseline (a suspect: when it was released)."""
    head = " ".join(str(part) for part in (node["package"], node.get("version")) if part)
    if node.get("role") == "suspect":
        released = node.get("released")
        return (head, "suspect release", *([f"released {_released(str(released))}"] if released else []))
    figures = downloads_text(node)
    return (head, figures) if figures else (head,)


def edge_kind(edge: Mapping[str, Any], spiking: set[str]) -> str:
    """The edge's kind, with ``did-not-follow`` for a spiking package's dependency that did not spike."""
    kind = str(edge.get("kind", "requires"))
    if kind == "requires" and edge["source"] in spiking and edge["target"] not in spiking:
        return "did-not-follow"
    return kind


def edge_lines(kind: str, specifier: str) -> tuple[str, ...]:
    if kind == "did-not-follow":
        return ("did not follow", specifier) if specifier else ("did not follow",)
    if kind == "changed":
        return (specifier or "any version",)
    if kind == "unchanged":
        return (specifier or "any version", "(unchanged)")
    return (specifier,) if specifier else ()


def diagram_of(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``diagram`` of an explanation's ``to_dict()`` (or a diagram dict itself)."""
    diagram = data if "nodes" in data else data.get("diagram")
    if not isinstance(diagram, Mapping) or not diagram.get("nodes"):
        raise BadInput("this explanation has no diagram", "run depgraph explain PACKAGE --date D again")
    return diagram


def spike_drawing(data: Mapping[str, Any]) -> Drawing:
    """An explanation's diagram in a stable drawing order, with node IDs (plain names, else ``#<n>``)."""
    diagram = diagram_of(data)
    nodes = sorted(diagram["nodes"], key=lambda n: (ROLE_ORDER.get(n.get("role", ""), 3), n["package"]))
    ids = node_ids([n["package"] for n in nodes])
    spiking = {n["package"] for n in nodes if n.get("spike")}
    drawn = tuple(DrawnNode(ids[n["package"]], n["package"], n.get("role", "dependency"), node_lines(n),
                            ratio_bin(n), bool(n.get("spike"))) for n in nodes)
    order = {package: index for index, package in enumerate(ids)}
    edges = []
    for edge in sorted(diagram.get("edges", []), key=lambda e: (order.get(e["source"], -1),
                                                                  order.get(e["target"], -1))):
        if edge["source"] not in ids or edge["target"] not in ids:
            raise BadInput(f"diagram edge {edge['source']!r} -> {edge['target']!r} names a package with no node")
        kind = edge_kind(edge, spiking)
        edges.append(DrawnEdge(ids[edge["source"]], ids[edge["target"]], kind,
                               edge_lines(kind, str(edge.get("specifier") or ""))))
    title = f"{data['package']} on {data['date']}: downloads that day against the baseline" \
        if "package" in data and "date" in data else None
    return Drawing(title, drawn, tuple(edges))


def node_ids(names: Iterable[str]) -> dict[str, str]:
    """Each name's DOT node ID: the name itself when plain (``[A-Za-z0-9._-]``), else ``#<position>``.

    Plain names keep the SVG's ``<title>`` readable; anything else (a colon would be read as a port) gets an ID
    that no plain name can take.
    """
    return {name: name if _plain(name) else f"#{index}" for index, name in enumerate(names)}


def _plain(name: str) -> bool:
    return bool(name) and all(ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in name)


def label(*lines: str) -> str:
    """A multi-line DOT label of user text: control characters become spaces, backslashes are doubled, and the
    result is never read as an HTML-like label; graphviz quotes it."""
    cleaned = ("".join(ch if ch.isprintable() else " " for ch in line) for line in lines)
    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in cleaned))


def legend_html(edge_kinds: Iterable[str] = (), spiking: bool = True) -> str:
    """The legend as an HTML-like label (our own text only): the colour scale in a row, then how emphasis is drawn."""
    cells = "".join(f'<td bgcolor="{b.fill}"><font color="{b.font}">{html.escape(b.text)}</font></td>'
                    for b in LEGEND_BINS)
    notes = (["bold border: spiking package"] if spiking else []) + \
        [EDGE_LEGEND[kind] for kind in sorted(edge_kinds) if kind in EDGE_LEGEND]
    rows = [f'<tr><td colspan="{len(LEGEND_BINS)}"><b>downloads that day / baseline</b></td></tr>',
            f"<tr>{cells}</tr>"]
    if notes:
        text = "".join(f'{html.escape(note)}<br align="left"/>' for note in notes)
        rows.append(f'<tr><td colspan="{len(LEGEND_BINS)}" align="left">{text}</td></tr>')
    return ('<<table border="0" cellborder="1" cellspacing="0" cellpadding="5" color="#999999" bgcolor="#ffffff">'
            + "".join(rows) + "</table>>")


def _digraph(name: str, rankdir: str) -> graphviz.Digraph:
    return graphviz.Digraph(name, graph_attr={"rankdir": rankdir},
                            node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "#f5f5f5",
                                       "fontname": FONT},
                            edge_attr={"color": "#555555", "fontname": FONT, "fontsize": "10"})


def _stat_attributes(colour: RatioBin | None, spike: bool) -> dict[str, str]:
    attributes = {"fillcolor": colour.fill, "fontcolor": colour.font} if colour else {}
    if spike:
        attributes.update(penwidth="3", color="#000000", fontname=BOLD_FONT)
    return attributes


def _edge_attributes(kind: str, lines: tuple[str, ...]) -> dict[str, str]:
    attributes = {"label": label(*lines)} if lines else {}
    if kind == "did-not-follow":
        attributes.update(style="dashed", color="#9e9e9e", fontcolor="#757575")
    elif kind == "changed":
        attributes.update(color=CHANGED_COLOUR, fontcolor=CHANGED_COLOUR, penwidth="2.2", fontname=BOLD_FONT)
    elif kind == "unchanged":
        attributes.update(style="dotted", color="#c8c8c8", fontcolor="#a0a0a0")
    return attributes


def _node_attributes(node: DrawnNode) -> dict[str, str]:
    if node.role == "suspect":
        return {"label": label(*node.lines), "fillcolor": SUSPECT_FILL, "color": CHANGED_COLOUR, "penwidth": "2",
                "style": "filled", "fontcolor": CHANGED_COLOUR}
    return {"label": label(*node.lines), **_stat_attributes(node.colour, node.spike)}


def explanation_dot(data: Mapping[str, Any]) -> str:
    """The DOT text of a spike's diagram (an explanation's ``to_dict()``): the suspect release on top, the cluster
    boxed below it, their dependencies under it; coloured by ratio, with a legend. Stable order for golden tests."""
    drawing = spike_drawing(data)
    dot = _digraph("spike", "TB")
    dot.graph_attr.update(fontname=FONT, nodesep="0.35", ranksep="0.75")
    if drawing.title:
        dot.attr(label=label(drawing.title), labelloc="t", fontsize="16")
    with dot.subgraph(name="suspects") as top:
        top.attr(rank="min")
        for node in drawing.role("suspect"):
            top.node(node.id, **_node_attributes(node))
    _draw_cluster(dot, drawing.role("spiking"))
    for node in drawing.role("dependency"):
        dot.node(node.id, **_node_attributes(node))
    for edge in drawing.edges:
        dot.edge(edge.source, edge.target, **_edge_attributes(edge.kind, edge.lines))
    with dot.subgraph(name="legend") as bottom:
        bottom.attr(rank="sink")
        bottom.node(LEGEND_ID, label=legend_html(drawing.edge_kinds(), drawing.any_spike()), shape="plain", style="")
    return dot.source


def _draw_cluster(dot: graphviz.Digraph, members: list[DrawnNode]) -> None:
    """The packages downloaded together, boxed when there are several."""
    if len(members) < 2:
        for node in members:
            dot.node(node.id, **_node_attributes(node))
        return
    with dot.subgraph(name="cluster_spiking") as box:
        box.attr(label="downloaded together", labeljust="l", style="rounded,dashed", color="#888888",
                 fontcolor="#444444", fontsize="11")
        for node in members:
            box.node(node.id, **_node_attributes(node))


def dependency_dot(graph: nx.DiGraph, title: str | None = None,
                   stats: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """A stable DOT text (nodes and edges sorted) of a dependency graph; unknown packages are drawn dashed.

    With ``stats`` (package -> ``count``, ``baseline``, ``ratio``, ``spike``), nodes are coloured by ratio as in
    :func:`explanation_dot`, spiking ones emphasised, dependencies that did not follow drawn dashed, and a legend
    added.
    """
    roots = set(graph.graph.get("roots", []))
    ids = node_ids(sorted(graph.nodes))
    dot = _digraph("dependencies", "LR")
    if title:
        dot.attr(label=label(title), labelloc="t")
    for name in sorted(graph.nodes):
        dot.node(ids[name], **_graph_node_attributes(graph, name, name in roots, stats))
    spiking = {name for name, stat in (stats or {}).items() if stat.get("spike")}
    for source, target in sorted(graph.edges):
        edge = graph.edges[source, target]
        text = " ".join(part for part in (edge.get("specifier"), f"[{edge['extra']}]" if edge.get("extra") else "")
                        if part)
        if stats is not None and source in spiking and target not in spiking:
            dot.edge(ids[source], ids[target], **_edge_attributes("did-not-follow", edge_lines("did-not-follow", text)))
        else:
            dot.edge(ids[source], ids[target], **({"label": label(text)} if text else {}))
    if stats is not None:
        dot.node(LEGEND_ID, label=legend_html(["did-not-follow"] if spiking else [], bool(spiking)),
                 shape="plain", style="")
    return dot.source


def _graph_node_attributes(graph: nx.DiGraph, name: str, root: bool,
                           stats: Mapping[str, Mapping[str, Any]] | None) -> dict[str, str]:
    data = graph.nodes[name]
    lines = [name, str(data.get("version") or "?")]
    stat = (stats or {}).get(name, {})
    figures = downloads_text(stat)
    attributes = {"label": label(*lines, *([figures] if figures else []))}
    if root:
        attributes.update(fillcolor="#cfe2f3", penwidth="2")
    if data.get("unknown"):
        attributes.update(style="rounded,dashed", tooltip="dependencies unknown")
    if stats is not None:
        attributes.update(_stat_attributes(ratio_bin(stat), bool(stat.get("spike"))))
        if data.get("unknown"):
            attributes["style"] = "rounded,dashed,filled"
    return attributes


def render_dot(dot_text: str, path: Path) -> None:
    """Write ``.dot`` as is, or ``.svg``/``.png``/``.pdf`` through Graphviz's ``dot``, atomically."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("dot", *RENDERED_FORMATS):
        raise BadInput(f"output {path} has an unknown extension", "use .json, .dot, .svg, .png or .pdf")
    _write_atomically(path, dot_text.encode() if fmt == "dot" else _rendered(dot_text, fmt, path))


def check_diagram_path(path: Path) -> None:
    """Refuse a diagram path whose suffix :func:`write_diagram` cannot write (call it before the slow work)."""
    if path.suffix.lower() not in DIAGRAM_SUFFIXES:
        raise BadInput(f"diagram {path} has an unknown extension", "use " + ", ".join(DIAGRAM_SUFFIXES))


def write_diagram(path: Path, dot_text: str, mermaid_text: str) -> None:
    """Write a diagram by ``path``'s suffix: ``.mmd`` from the Mermaid text, ``.dot``/``.svg``/``.png``/``.pdf``
    from the DOT text, atomically. Without Graphviz installed, ``.dot`` and ``.mmd`` still work."""
    check_diagram_path(path)
    if path.suffix.lower() == ".mmd":
        _write_atomically(path, mermaid_text.encode())
    else:
        render_dot(dot_text, path)


def _rendered(dot_text: str, fmt: str, path: Path) -> bytes:
    try:
        return graphviz.Source(dot_text).pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise DepgraphError(f"cannot write {path}: Graphviz's 'dot' program is not installed",
                            DOT_INSTALL_HINT) from exc
    except graphviz.CalledProcessError as exc:
        message = " ".join(exc.stderr.decode(errors="replace").split())[:200]
        raise DepgraphError(f"dot failed for {path}: {message}") from exc


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
