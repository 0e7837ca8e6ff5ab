"""Mermaid flowcharts (for Markdown hosts) of a spike's diagram and of a dependency graph.

Node IDs are ``n0``, ``n1``…, never a package name; every label is quoted, and every character of it that is not
a letter, a digit or plain punctuation is written as a Mermaid entity code (``#quot;``, ``#lt;``, ``#35;``…), so
no name can close the label, open HTML or start a statement. Colours and emphasis match :mod:`depgraph.render.dot`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from depgraph.render.dot import (
    CHANGED_COLOUR,
    LEGEND_BINS,
    SUSPECT_FILL,
    DrawnEdge,
    DrawnNode,
    RatioBin,
    downloads_text,
    edge_lines,
    ratio_bin,
    spike_drawing,
)

SAFE = frozenset(" .,:=+-_/()!?*'~")
NAMED = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "#": "#35;"}
ARROWS = {"requires": "-->", "did-not-follow": "-.->", "changed": "==>", "unchanged": "-.->"}
LINK_STYLES = {
    "did-not-follow": "stroke:#9e9e9e,stroke-width:1px,stroke-dasharray:5 4",
    "changed": f"stroke:{CHANGED_COLOUR},stroke-width:2.5px",
    "unchanged": "stroke:#c8c8c8,stroke-width:1px,stroke-dasharray:2 3",
}
CLASS_STYLES = {
    "spiking": "stroke:#000000,stroke-width:3px,font-weight:bold",
    "suspect": f"fill:{SUSPECT_FILL},stroke:{CHANGED_COLOUR},stroke-width:2px,color:{CHANGED_COLOUR}",
    "root": "stroke-width:2px",
    "unknown": "stroke-dasharray:4 3",
}


def escape(text: str) -> str:
    """``text`` as Mermaid label text: letters, digits and plain punctuation kept, control characters as spaces,
    the rest as entity codes."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return "".join(ch if ch.isalnum() or ch in SAFE else NAMED.get(ch, f"#{ord(ch)};") for ch in text)


def mermaid_label(*lines: str) -> str:
    """A quoted, escaped, multi-line label."""
    return '"' + "<br/>".join(escape(line) for line in lines) + '"'


def bin_class(colour: RatioBin) -> str:
    return f"bin{LEGEND_BINS.index(colour)}"


def _class_defs(bins: Iterable[RatioBin], names: Iterable[str]) -> list[str]:
    lines = [f"    classDef {bin_class(b)} fill:{b.fill},color:{b.font},stroke:#666666" for b in bins]
    return lines + [f"    classDef {name} {CLASS_STYLES[name]}" for name in names]


def _class_lines(members: Mapping[str, list[str]]) -> list[str]:
    """``class n1,n2 name`` lines, one per class that has members, in sorted class order."""
    return [f"    class {','.join(ids)} {name}" for name, ids in sorted(members.items()) if ids]


def _edge_line(source: str, target: str, kind: str, lines: tuple[str, ...]) -> str:
    text = f'|{mermaid_label(*lines)}|' if lines else ""
    return f"    {source} {ARROWS.get(kind, '-->')}{text} {target}"


def _link_styles(kinds: list[str]) -> list[str]:
    """``linkStyle`` lines for the emphasised or faint edges, by their position in the flowchart."""
    by_kind: dict[str, list[str]] = {}
    for index, kind in enumerate(kinds):
        if kind in LINK_STYLES:
            by_kind.setdefault(kind, []).append(str(index))
    return [f"    linkStyle {','.join(indices)} {LINK_STYLES[kind]}" for kind, indices in sorted(by_kind.items())]


def _legend(edge_kinds: Iterable[str], spiking: bool, below: str | None) -> list[str]:
    """A legend subgraph: one node per colour class, then one saying how emphasis is drawn, in a row (chained by
    invisible links); an invisible link from ``below`` (the last node drawn) puts it under the diagram. Edges are
    numbered for ``linkStyle`` in order, so these links come after the drawn ones."""
    ids = [f"legend{i}" for i in range(len(LEGEND_BINS))]
    lines = ['    subgraph legend["downloads that day / baseline"]', "        direction LR"]
    lines += [f"        {id_}[{mermaid_label(b.text)}]:::{bin_class(b)}"
              for id_, b in zip(ids, LEGEND_BINS, strict=True)]
    notes = (["bold border: spiking package"] if spiking else []) + \
        [NOTES[kind] for kind in sorted(edge_kinds) if kind in NOTES]
    if notes:
        ids.append("legendnotes")
        lines.append(f"        legendnotes[{mermaid_label(*notes)}]")
    lines += ["        " + " ~~~ ".join(ids), "    end"]
    return lines + ([f"    {below} ~~~ legend"] if below else [])


NOTES = {
    "did-not-follow": "dotted grey arrow: a dependency that did not follow",
    "changed": "thick blue arrow: a requirement changed in the release above",
    "unchanged": "dotted light arrow: a requirement unchanged since the previous release",
}


def _node_line(node: DrawnNode, ids: Mapping[str, str], indent: str = "    ") -> str:
    return f"{indent}{ids[node.id]}[{mermaid_label(*node.lines)}]"


def explanation_mermaid(data: Mapping[str, Any]) -> str:
    """A Mermaid flowchart of a spike's diagram (an explanation's ``to_dict()``), like :func:`explanation_dot`:
    the suspect release on top, the cluster below it, their dependencies under it; coloured by ratio."""
    drawing = spike_drawing(data)
    ids = {node.id: f"n{index}" for index, node in enumerate(drawing.nodes)}
    lines = ["flowchart TB"]
    lines += [_node_line(node, ids) for node in drawing.role("suspect")]
    members = drawing.role("spiking")
    if len(members) > 1:
        lines += ['    subgraph cluster["downloaded together"]']
        lines += [_node_line(node, ids, "        ") for node in members] + ["    end"]
    else:
        lines += [_node_line(node, ids) for node in members]
    lines += [_node_line(node, ids) for node in drawing.role("dependency")]
    lines += [_edge_line(ids[e.source], ids[e.target], e.kind, e.lines) for e in drawing.edges]
    lines += _legend(drawing.edge_kinds(), drawing.any_spike(), ids[drawing.nodes[-1].id])
    lines += _class_defs(LEGEND_BINS, ["spiking", "suspect"])
    lines += _class_lines(_drawing_classes(drawing.nodes, ids))
    lines += _link_styles([edge.kind for edge in drawing.edges])
    return "\n".join(lines) + "\n"


def _drawing_classes(nodes: Iterable[DrawnNode], ids: Mapping[str, str]) -> dict[str, list[str]]:
    classes: dict[str, list[str]] = {}
    for node in nodes:
        if node.role == "suspect":
            classes.setdefault("suspect", []).append(ids[node.id])
            continue
        if node.colour is not None:
            classes.setdefault(bin_class(node.colour), []).append(ids[node.id])
        if node.spike:
            classes.setdefault("spiking", []).append(ids[node.id])
    return classes


def dependency_mermaid(graph: nx.DiGraph, stats: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """A Mermaid flowchart of a dependency graph, like :func:`depgraph.render.dot.dependency_dot`: roots with a
    bold border, unknown packages dashed, edges labelled with their specifiers; with ``stats``, coloured by ratio
    with dependencies that did not follow dotted."""
    names = sorted(graph.nodes)
    ids = {name: f"n{index}" for index, name in enumerate(names)}
    lines = ["flowchart TB"] + [f"    {ids[name]}[{mermaid_label(*_graph_lines(graph, name, stats))}]"
                                for name in names]
    drawn = _graph_edges(graph, ids, stats)
    lines += [_edge_line(e.source, e.target, e.kind, e.lines) for e in drawn]
    if stats is not None:
        spiking = any(stat.get("spike") for stat in stats.values())
        lines += _legend(["did-not-follow"] if spiking else [], spiking, ids[names[-1]] if names else None)
    lines += _class_defs(LEGEND_BINS if stats is not None else (), ["root", "spiking", "unknown"])
    lines += _class_lines(_graph_classes(graph, ids, stats))
    lines += _link_styles([edge.kind for edge in drawn])
    return "\n".join(lines) + "\n"


def _graph_lines(graph: nx.DiGraph, name: str, stats: Mapping[str, Mapping[str, Any]] | None) -> list[str]:
    figures = downloads_text((stats or {}).get(name, {}))
    return [name, str(graph.nodes[name].get("version") or "?"), *([figures] if figures else [])]


def _graph_edges(graph: nx.DiGraph, ids: Mapping[str, str],
                 stats: Mapping[str, Mapping[str, Any]] | None) -> list[DrawnEdge]:
    spiking = {name for name, stat in (stats or {}).items() if stat.get("spike")}
    drawn = []
    for source, target in sorted(graph.edges):
        edge = graph.edges[source, target]
        text = " ".join(part for part in (edge.get("specifier"), f"[{edge['extra']}]" if edge.get("extra") else "")
                        if part)
        kind = "did-not-follow" if stats is not None and source in spiking and target not in spiking else "requires"
        drawn.append(DrawnEdge(ids[source], ids[target], kind, edge_lines(kind, text)))
    return drawn


def _graph_classes(graph: nx.DiGraph, ids: Mapping[str, str],
                   stats: Mapping[str, Mapping[str, Any]] | None) -> dict[str, list[str]]:
    roots = set(graph.graph.get("roots", []))
    classes: dict[str, list[str]] = {}
    for name in sorted(graph.nodes):
        stat = (stats or {}).get(name, {})
        colour = ratio_bin(stat) if stats is not None else None
        for cls, member in ((bin_class(colour) if colour else "", True), ("root", name in roots),
                            ("unknown", bool(graph.nodes[name].get("unknown"))), ("spiking", bool(stat.get("spike")))):
            if cls and member:
                classes.setdefault(cls, []).append(ids[name])
    return classes
