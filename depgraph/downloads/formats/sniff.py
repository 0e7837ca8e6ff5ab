"""What a file holds, told from its first bytes (plain or gzip), never from its name: the format, the layout
(CSV, JSON lines, one JSON document, Parquet), the compression and the header."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from depgraph.downloads.formats.scan import first_line, sql_string
from depgraph.errors import BadInput

FORMATS = ("auto", "piwheels", "bigquery", "pypistats", "counts", "releases")
PIWHEELS_COLUMNS = ("filename", "accessed_by", "accessed_at", "arch", "distro_name", "distro_version", "os_name",
                    "os_version", "py_name", "py_version", "installer_name", "installer_version",
                    "setuptools_version")
PIWHEELS_V015_COLUMNS = PIWHEELS_COLUMNS[:10]  # March 2020: no installer or setuptools columns yet
COUNTS_REQUIRED = ("date", "package", "downloads")
# distribution_metadata columns depgraph keeps; a release export is told by the first three plus either of the next
RELEASE_REQUIRED = ("name", "version", "upload_time")
RELEASE_MARKERS = ("requires_dist", "packagetype")
HEAD_SIZE = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes of a file say: its format (None when they cannot tell), layout and compression.

    ``layout`` is csv, jsonl, json, parquet or none; ``header`` the CSV header as lowercase names (empty when the
    file has none); ``keys`` how BigQuery JSON names its fields: nested, ``_`` or ``.`` (flattened).
    """

    format: str | None
    layout: str
    compression: str
    header: tuple[str, ...] = ()
    keys: str = "nested"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise BadInput(f"{path} cannot be read ({exc.strerror or exc})", "check the file's permissions") from exc
    return digest.hexdigest()


def read_head(path: Path, compression: str, size: int = HEAD_SIZE) -> bytes:
    opener: Callable[..., Any] = gzip.open if compression == "gzip" else open
    try:
        with opener(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise BadInput(f"{path} is not readable as plain or gzip text ({exc})", "give an uncompressed or .gz log") \
            from exc


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(16)
    except OSError as exc:
        raise BadInput(f"{path} cannot be read ({exc.strerror or exc})", "check the file's permissions") from exc


def sniff(path: Path) -> Sniffed:
    """Look at the first bytes of ``path`` (decompressed when gzip) and say what it holds."""
    magic = _magic(path)
    if magic[:4] == PARQUET_MAGIC:
        return _sniff_parquet(path)
    if magic[8:12] == b"DUCK":
        raise BadInput(f"{path} is a DuckDB database, not a download log", "give a store with --db and logs as FILE")
    compression = "gzip" if magic[:2] == GZIP_MAGIC else "none"
    head = read_head(path, compression)
    if head[:4] == PARQUET_MAGIC:
        raise BadInput(f"{path} is gzip-compressed Parquet", "decompress it first; Parquet is compressed inside")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not text.strip():
        return Sniffed("empty", "none", compression)
    body = text.lstrip()
    if body[0] in "{[":
        return _sniff_json(path, body, compression)
    return _sniff_csv(text, compression)


def _sniff_json(path: Path, body: str, compression: str) -> Sniffed:
    if body[0] == "[":
        raise BadInput(f"{path} is a JSON array, not JSON lines or a pypistats response",
                       "export BigQuery rows as newline-delimited JSON, one object a line")
    first = _first_json_object(body, tries=1)
    if first is not None and {"data", "type"} <= first.keys():
        return Sniffed("pypistats", "json", compression)
    if first is None and '"data"' in body and ('"category"' in body or '_downloads"' in body):
        return Sniffed("pypistats", "json", compression)  # a response spread over lines
    first = first or _first_json_object(body)  # JSON lines may start with a broken line
    keys = bigquery_keys(first.keys()) if first else None
    if keys is None and (is_releases(first.keys()) if first else _names_release_keys(body)):
        return Sniffed("releases", "jsonl", compression)
    return Sniffed("bigquery" if keys else None, "jsonl", compression, keys=keys or "nested")


def is_releases(keys: Iterable[str]) -> bool:
    """Whether column (or key) names are those of a distribution_metadata export."""
    names = {k.strip().lower() for k in keys}
    return set(RELEASE_REQUIRED) <= names and bool(names & set(RELEASE_MARKERS))


def _names_release_keys(body: str) -> bool:
    """A first release row longer than the head read (a long description) has no whole line: look for its keys."""
    compact = body.replace('": ', '":')
    return is_releases(key for key in (*RELEASE_REQUIRED, *RELEASE_MARKERS) if f'"{key}":' in compact)


def _sniff_parquet(path: Path) -> Sniffed:
    """Parquet is told by its columns: BigQuery file_downloads, release metadata, or neither (format None)."""
    names = parquet_columns(path)
    if bigquery_keys(names) is not None:
        return Sniffed("bigquery", "parquet", "none")
    return Sniffed("releases" if is_releases(names) else None, "parquet", "none")


def parquet_columns(path: Path) -> dict[str, tuple[str, str]]:
    """A Parquet file's columns from its footer: lowercase name -> (name as written, DuckDB type)."""
    connection = duckdb.connect()
    try:
        described = connection.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise BadInput(f"{path} is not a readable Parquet file: {first_line(exc)}", "export it again") from exc
    finally:
        connection.close()
    return {row[0].lower(): (row[0], row[1]) for row in described}


def _first_json_object(body: str, tries: int = 20) -> dict[str, Any] | None:
    """The first line of ``body`` that is a whole JSON object (a JSON-lines file may start with a broken line)."""
    for line in body.splitlines()[:tries]:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's JSON parser goes
            continue
        if isinstance(value, dict):
            return value
    return None


def bigquery_keys(keys: Iterable[str]) -> str | None:
    """How a BigQuery row names its fields (nested, ``_`` or ``.``), or None when it is not a BigQuery row."""
    names = {k.lower() for k in keys}
    if "file_project" in names:
        return "_"
    if "file.project" in names:
        return "."
    if "timestamp" in names and names & {"file", "project"}:
        return "nested"
    return None


def _sniff_csv(text: str, compression: str) -> Sniffed:
    fields = next(csv.reader([text.splitlines()[0]]), [])
    names = tuple(f.strip().lower() for f in fields)
    flat = {n.replace(".", "_") for n in names}
    if names[: len(PIWHEELS_V015_COLUMNS)] == PIWHEELS_V015_COLUMNS:
        return Sniffed("piwheels", "csv", compression, names)
    if fields and fields[0].endswith(".whl") and len(fields) in (len(PIWHEELS_V015_COLUMNS), len(PIWHEELS_COLUMNS)):
        return Sniffed("piwheels", "csv", compression)  # psql's COPY ... CSV writes no header
    if "timestamp" in flat and flat & {"file_project", "project"}:
        return Sniffed("bigquery", "csv", compression, names, keys="_")
    if is_releases(names):
        return Sniffed("releases", "csv", compression, names)
    if set(COUNTS_REQUIRED) <= set(names):
        return Sniffed("counts", "csv", compression, names)
    return Sniffed(None, "csv", compression, names)


def detect_format(path: Path) -> str:
    """The format of a file (piwheels, bigquery, pypistats, counts, releases, or empty), from its content."""
    sniffed = sniff(path)
    if sniffed.format is None and sniffed.layout == "parquet":
        raise BadInput(f"{path} is Parquet without BigQuery's timestamp and file.project columns, nor release "
                       f"metadata's {', '.join(RELEASE_REQUIRED)}", "export file_downloads or distribution_metadata")
    if sniffed.format is None:
        text = read_head(path, sniffed.compression, 4096).decode("utf-8", errors="replace").strip()
        opening = text.splitlines()[0] if text else ""
        raise BadInput(f"{path}: cannot tell its format from the first line {opening[:80]!r}",
                       f"give --format, one of {', '.join(FORMATS[1:])}")
    return sniffed.format
