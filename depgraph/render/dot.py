"""Graphviz DOT for dependency graphs (through the ``graphviz`` package, which escapes every label) and
rendering to SVG/PNG/PDF through Graphviz's ``dot`` program.
"""

from __future__ import annotations

from pathlib import Path

import graphviz
import networkx as nx

from depgraph.errors import BadInput, DepgraphError

DOT_INSTALL_HINT = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
RENDERED_FORMATS = ("svg", "png", "pdf")


def label(*lines: str) -> str:
    """A multi-line DOT label; graphviz quotes it, and backslashes in user text are doubled first."""
    return "\\n".join(line.replace("\\", "\\\\") for line in lines)


def dependency_dot(graph: nx.DiGraph, title: str | None = None) -> str:
    """A stable DOT text (nodes and edges sorted) of a dependency graph; unknown packages are drawn dashed."""
    roots = set(graph.graph.get("roots", []))
    dot = graphviz.Digraph("dependencies", graph_attr={"rankdir": "LR"},
                           node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "#f5f5f5",
                                      "fontname": "Helvetica"},
                           edge_attr={"color": "#555555", "fontname": "Helvetica", "fontsize": "10"})
    if title:
        dot.attr(label=label(title), labelloc="t")
    for name in sorted(graph.nodes):
        data = graph.nodes[name]
        attributes = {"label": label(name, str(data.get("version") or "?"))}
        if name in roots:
            attributes.update(fillcolor="#cfe2f3", penwidth="2")
        if data.get("unknown"):
            attributes.update(style="rounded,dashed", tooltip="dependencies unknown")
        dot.node(name, **attributes)
    for source, target in sorted(graph.edges):
        edge = graph.edges[source, target]
        text = " ".join(part for part in (edge.get("specifier"), f"[{edge['extra']}]" if edge.get("extra") else "")
                        if part)
        dot.edge(source, target, **({"label": label(text)} if text else {}))
    return dot.source


def render_dot(dot_text: str, path: Path) -> None:
    """Write ``.dot`` as is, or ``.svg``/``.png``/``.pdf`` through Graphviz's ``dot``, atomically."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("dot", *RENDERED_FORMATS):
        raise BadInput(f"output {path} has an unknown extension", "use .json, .dot, .svg, .png or .pdf")
    if fmt == "dot":
        data = dot_text.encode()
    else:
        try:
            data = graphviz.Source(dot_text).pipe(format=fmt)
        except graphviz.ExecutableNotFound as exc:
            raise DepgraphError(f"cannot write {path}: Graphviz's 'dot' program is not installed",
                                DOT_INSTALL_HINT) from exc
        except graphviz.CalledProcessError as exc:
            raise DepgraphError(f"dot failed for {path}: {exc.stderr.decode(errors='replace')[:200]}") from exc
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
