"""Names and versions of downloaded files, parsed once per distinct value with ``packaging`` (not per row)."""

from __future__ import annotations

import duckdb
from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    is_normalized_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion


def parse_filename(filename: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(package, version, kind, reason): a wheel or sdist name parsed per PEP 427/625, or why it cannot be."""
    if not filename:
        return None, None, None, "no filename"
    if not filename.isascii() or not filename.isprintable() or any(c in filename for c in " /\\"):
        # packaging's parsers let such names through; no index serves them (PEP 427/625 names are ASCII, no paths)
        return None, None, None, "not a valid wheel or sdist name (space, path or non-ASCII character)"
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
            kind = "wheel"
        elif filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            kind = "sdist"
        else:
            return None, None, None, "not a wheel or sdist name"
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        return None, None, None, f"not a valid wheel or sdist name ({str(exc).splitlines()[0]})"
    if canonical_name(name) != name:
        return None, None, None, f"not a valid wheel or sdist name (project name {name!r})"
    return name, str(version), kind, None


def register_filenames(connection: duckdb.DuckDBPyConnection, relation: str, table: str = "filenames") -> None:
    """Create temp table ``table(file, package, version, file_kind, filename, reason)`` for ``relation``'s
    filenames (column ``file``); ``file`` and ``filename`` are the same, ``package`` NULL and ``reason`` set when
    the name is not a valid wheel or sdist name.

    ``relation`` is a table name or a parenthesised query; DuckDB streams it and hands over only the distinct
    filenames (a few thousand even for a month of piwheels), each parsed once.
    """
    distinct = [row[0] for row in connection.execute(f"SELECT DISTINCT file FROM {relation}").fetchall()]
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {table} (file VARCHAR, package VARCHAR, version VARCHAR, "
                       "file_kind VARCHAR, filename VARCHAR, reason VARCHAR)")
    rows = [(name, *parse_filename(name)) for name in distinct if name is not None]
    if rows:
        columns = list(zip(*rows, strict=True))  # one statement for all rows: executemany runs one per row
        connection.execute(f"INSERT INTO {table} SELECT unnest($1), unnest($2), unnest($3), unnest($4), unnest($1), "
                           "unnest($5)", [list(c) for c in columns])


def canonical_name(raw: str | None) -> str | None:
    """The PEP 503 form of a project name, or None when it is not a valid name."""
    if not raw or not raw.strip():
        return None
    name = canonicalize_name(raw.strip())
    try:
        return name if is_normalized_name(name) else None
    except InvalidName:
        return None


def canonical_list(names: list[str]) -> list[str]:
    """The PEP 503 names of what a user typed, each once (``Zope.Interface zope_interface`` is one package)."""
    from depgraph.errors import BadInput

    packages: list[str] = []
    for name in names:
        canonical = canonical_name(name)
        if canonical is None:
            raise BadInput(f"package {name!r} is not a valid project name", "use e.g. zope-interface")
        if canonical not in packages:
            packages.append(canonical)
    return packages


def canonical_names(connection: duckdb.DuckDBPyConnection, relation: str, column: str = "package") -> None:
    """Create temp table ``names(raw, package)`` mapping ``relation.column``'s distinct values to PEP 503 names
    (NULL for an invalid name); ``relation`` is a table name or a parenthesised query."""
    distinct = [row[0] for row in connection.execute(f"SELECT DISTINCT {column} FROM {relation}").fetchall()]
    connection.execute("CREATE OR REPLACE TEMP TABLE names (raw VARCHAR, package VARCHAR)")
    rows = [(raw, canonical_name(raw)) for raw in distinct if raw is not None]
    if rows:
        raw, canonical = zip(*rows, strict=True)
        connection.execute("INSERT INTO names SELECT unnest($1), unnest($2)", [list(raw), list(canonical)])
