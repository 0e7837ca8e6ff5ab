"""Graphs of installed environments, read through pipdeptree.

``graph_from_environment`` asks pipdeptree's API about a live interpreter; ``graph_from_pipdeptree_json``
reads what ``pipdeptree --json`` (flat) or ``pipdeptree --json-tree`` (nested) wrote on some other machine,
e.g. a Raspberry Pi. Both go through the same reader, so they build the same graph of the same environment.

pipdeptree has already evaluated the markers for that environment, so edges carry no marker; an edge that
exists only because an extra of its source was requested carries that extra. Known limits of the formats:
``--json-tree`` drops the edge that closes a dependency cycle and any cycle nothing outside it requires, and
``--reverse`` output cannot be told apart from forward output, so it must not be given. A requirement
pipdeptree found no distribution for is ``unknown``; only ``--json`` shows one it found as a bare module
(with the module's ``__version__``), ``--json-tree`` makes that a dependency-free package.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pipdeptree
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from depgraph.errors import BadInput
from depgraph.graph import add_package, add_requirement, new_graph

FILE_HINT = "give a file written by `pipdeptree --json` or `pipdeptree --json-tree`, without --reverse"
NOT_INSTALLED = "not installed"
NO_METADATA = "installed without distribution metadata"
METADATA_SOURCE = "installed"
LIVE_HINT = "a package installed there has malformed metadata; reinstall it"
UNKNOWN_VERSIONS = (None, "?")
ANY_VERSION = (None, "Any", "any")


def graph_from_environment(python: str | None = None) -> nx.DiGraph:
    """The installed packages of the running interpreter, or of the interpreter at path ``python``."""
    interpreter = python or sys.executable
    try:
        text = pipdeptree.render(output_format="json", python=interpreter, extras="explicit", warn="silence")
    except ValueError as exc:
        if python is None:
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "pipdeptree failed"
        raise BadInput(f"cannot inspect the Python interpreter {python}: {reason}",
                       "give the path of a Python executable, e.g. /usr/bin/python3 or venv/bin/python") from exc
    return _graph_from_document(json.loads(text), f"pipdeptree's view of {interpreter}", interpreter, LIVE_HINT)


def graph_from_pipdeptree_json(path: Path) -> nx.DiGraph:
    """The environment saved by ``pipdeptree --json`` or ``--json-tree`` in ``path`` (format auto-detected)."""
    return _graph_from_document(_read_json(path), str(path), str(path))


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}", FILE_HINT) from exc
    if not raw.strip():
        raise BadInput(f"{path} is empty", FILE_HINT)
    try:
        return json.loads(raw)  # bytes: json detects UTF-8/16/32, e.g. a PowerShell redirect
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path} is not JSON ({exc.msg}: line {exc.lineno} column {exc.colno})", FILE_HINT) from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not JSON text (undecodable bytes)", FILE_HINT) from exc
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise BadInput(f"{path} is not JSON that can be read ({str(exc).splitlines()[0][:120]})", FILE_HINT) from exc
    except RecursionError as exc:
        raise BadInput(f"{path} nests too deeply to be pipdeptree output", FILE_HINT) from exc


class _Reader:
    """Builds the graph from pipdeptree's JSON, naming ``source`` in every complaint."""

    def __init__(self, source: str, hint: str) -> None:
        self.source, self.hint = source, hint
        self.graph = new_graph()

    def fail(self, where: str, problem: str) -> BadInput:
        return BadInput(f"{self.source} is not pipdeptree JSON: {where} {problem}", self.hint)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"is a {type(value).__name__}, not an object")
        return value

    def items(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, f"is a {type(value).__name__}, not a list")
        return value

    def field(self, item: dict[str, Any], key: str, where: str) -> Any:
        if key not in item:
            raise self.fail(where, f"has no {key!r}")
        return item[key]

    def name(self, item: dict[str, Any], where: str) -> NormalizedName:
        value = self.string(item, "key", where)
        try:
            return canonicalize_name(value, validate=True)
        except InvalidName as exc:
            raise self.fail(where, f"has an invalid package name {value!r}") from exc

    def string(self, item: dict[str, Any], key: str, where: str) -> str:
        value = self.field(item, key, where)
        if not isinstance(value, str):
            raise self.fail(where, f"has a {type(value).__name__} as {key}, not a string")
        return value

    def version(self, item: dict[str, Any], where: str) -> str | None:
        """The installed version, or None when pipdeptree found none ("?")."""
        if "installed_version" not in item and "candidate_version" in item:
            raise self.fail(where, "has a candidate_version: that is `pipdeptree from-index`/`from-lock` output, "
                                   "not an installed environment")
        if self.field(item, "installed_version", where) in UNKNOWN_VERSIONS:
            return None
        return self.string(item, "installed_version", where)

    def specifier(self, item: dict[str, Any], where: str) -> str:
        """``required_version`` as packaging writes it; "" for pipdeptree's "Any" (null in pipdeptree 2.0)."""
        if self.field(item, "required_version", where) in ANY_VERSION:
            return ""
        value = self.string(item, "required_version", where)
        try:
            return str(SpecifierSet(value))
        except InvalidSpecifier as exc:
            raise self.fail(where, f"has an invalid required_version {value!r}") from exc

    def extra(self, item: dict[str, Any], where: str) -> str | None:
        value = item.get("extra")
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"has a {type(value).__name__} as extra, not a string")
        return canonicalize_name(value)

    def package(self, name: NormalizedName, version: str | None) -> None:
        if version is None:
            add_package(self.graph, name, None, unknown=True, unknown_reason=NOT_INSTALLED,
                        metadata_source=METADATA_SOURCE)
        else:
            add_package(self.graph, name, version, unknown=False, unknown_reason=None,
                        metadata_source=METADATA_SOURCE)

    def requirement(self, source: NormalizedName, item: dict[str, Any], where: str) -> NormalizedName:
        """Add the edge ``source`` → the dependency ``item`` describes; a mandatory edge beats an extra's."""
        target = self.name(item, where)
        specifier, extra = self.specifier(item, where), self.extra(item, where)
        existing = self.graph.get_edge_data(source, target)
        if existing is None or (existing["extra"] is not None and extra is None):
            add_requirement(self.graph, source, target, specifier, None, extra)
        return target


def _graph_from_document(document: Any, source: str, origin: str, hint: str = FILE_HINT) -> nx.DiGraph:
    reader = _Reader(source, hint)
    entries = reader.items(document, "the top level")
    for index, entry in enumerate(entries):
        reader.obj(entry, f"entry {index + 1}")
    fmt = "json" if entries and "package" in entries[0] else "json-tree"
    if fmt == "json":
        _read_flat(reader, entries)
    else:
        _read_tree(reader, entries)
    return _finish(reader.graph, origin, fmt)


def _read_flat(reader: _Reader, entries: list[dict[str, Any]]) -> None:
    """``--json``: one entry per installed package, each listing its direct dependencies."""
    listed: set[NormalizedName] = set()
    required: dict[NormalizedName, str | None] = {}
    for index, entry in enumerate(entries):
        where = f"entry {index + 1}"
        package = reader.obj(reader.field(entry, "package", where), f"{where} package")
        name = reader.name(package, f"{where} package")
        reader.package(name, reader.version(package, f"{where} package ({name})"))
        listed.add(name)
        for position, item in enumerate(reader.items(reader.field(entry, "dependencies", where),
                                                     f"{where} ({name}) dependencies")):
            item_where = f"dependency {position + 1} of {name}"
            dependency = reader.obj(item, item_where)
            target = reader.requirement(name, dependency, item_where)
            required.setdefault(target, reader.version(dependency, f"{item_where} ({target})"))
    for target, version in required.items():
        if target not in listed:  # "?", or a module pipdeptree found without distribution metadata
            add_package(reader.graph, target, version, unknown=True,
                        unknown_reason=NOT_INSTALLED if version is None else NO_METADATA,
                        metadata_source=METADATA_SOURCE)


def _read_tree(reader: _Reader, entries: list[dict[str, Any]]) -> None:
    """``--json-tree``: the roots, each with its dependencies nested; packages repeat where shared."""
    for node, parent, where in _tree_nodes(reader, entries):
        name = reader.name(node, where)
        version = reader.version(node, f"{where} ({name})")
        if version is not None or name not in reader.graph:
            reader.package(name, version)
        if parent is not None:
            reader.requirement(parent, node, where)


def _tree_nodes(reader: _Reader, entries: list[dict[str, Any]]
                ) -> Iterator[tuple[dict[str, Any], NormalizedName | None, str]]:
    """Every object of the tree with the name of the package requiring it (None for a root), depth first."""
    stack: list[tuple[Any, NormalizedName | None, str]] = [
        (entry, None, f"entry {index + 1}") for index, entry in reversed(list(enumerate(entries)))]
    while stack:
        value, parent, where = stack.pop()
        node = reader.obj(value, where)
        yield node, parent, where
        name = reader.name(node, where)
        children = reader.items(reader.field(node, "dependencies", where), f"{where} ({name}) dependencies")
        stack.extend((child, name, f"dependency {position + 1} of {name}")
                     for position, child in reversed(list(enumerate(children))))


def _finish(graph: nx.DiGraph, origin: str, fmt: str) -> nx.DiGraph:
    """Record roots (what nothing requires), the extras in use, and where the graph came from."""
    for name in graph:
        extras = {data["extra"] for _, _, data in graph.out_edges(name, data=True) if data["extra"]}
        graph.nodes[name]["extras"] = sorted(extras)
    roots = sorted(name for name, degree in graph.in_degree() if degree == 0)
    graph.graph.update(roots=roots, source=origin, pipdeptree_format=fmt)
    return graph
