"""The dependency graph as a ``networkx.DiGraph``: nodes are packages, edges point from a package to what it
requires and carry the specifier, marker and extra that created them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import networkx as nx
from packaging.utils import canonicalize_name

from depgraph.resolve import Resolution

NODE_FIELDS = ("version", "upload_time", "unknown", "unknown_reason", "metadata_source", "file_kinds",
               "pure_python", "requires_python", "extras", "index")


def new_graph(roots: Iterable[str] = (), **attributes: Any) -> nx.DiGraph:
    graph = nx.DiGraph(roots=sorted(canonicalize_name(r) for r in roots), **attributes)
    return graph


def add_package(graph: nx.DiGraph, name: str, version: str | None, **attributes: Any) -> str:
    """Add (or update) a package node under its PEP 503 name; returns that name."""
    key = canonicalize_name(name)
    defaults = {field: None for field in NODE_FIELDS}
    defaults.update(unknown=False, extras=[], file_kinds=[])
    graph.add_node(key, **{**defaults, **graph.nodes.get(key, {}), "version": version, **attributes})
    return key


def add_requirement(graph: nx.DiGraph, source: str, target: str, specifier: str = "",
                    marker: str | None = None, extra: str | None = None) -> None:
    graph.add_edge(canonicalize_name(source), canonicalize_name(target),
                   specifier=specifier, marker=marker, extra=extra)


def graph_from_resolution(resolution: Resolution) -> nx.DiGraph:
    """The resolution as a graph; the graph's attributes keep the roots, date and environment."""
    graph = new_graph(resolution.roots, date=resolution.date, environment=resolution.environment.to_dict())
    for package in resolution.packages:
        data = package.to_dict()
        add_package(graph, package.name, package.version, **{k: data[k] for k in NODE_FIELDS if k != "version"})
    for edge in resolution.edges:
        add_requirement(graph, edge.source, edge.target, edge.specifier, edge.marker, edge.extra)
    return graph


def requirers(graph: nx.DiGraph, name: str) -> list[str]:
    """Who requires ``name`` directly (reverse lookup), sorted."""
    return sorted(graph.predecessors(canonicalize_name(name)))


def all_requirers(graph: nx.DiGraph, name: str) -> list[str]:
    """Everything that requires ``name`` directly or through others, sorted."""
    return sorted(nx.ancestors(graph, canonicalize_name(name)))


def dependency_closure(graph: nx.DiGraph, name: str) -> nx.DiGraph:
    """The subgraph of ``name`` and everything it needs, directly or not."""
    key = canonicalize_name(name)
    return graph.subgraph({key, *nx.descendants(graph, key)}).copy()


def to_node_link(graph: nx.DiGraph) -> dict[str, Any]:
    """networkx's node-link JSON form, with edges under ``edges`` and node names under ``id``."""
    return nx.node_link_data(graph, edges="edges")


def write_node_link(graph: nx.DiGraph, path: Path) -> None:
    path.write_text(json.dumps(to_node_link(graph), indent=2, sort_keys=True) + "\n", encoding="utf-8")
