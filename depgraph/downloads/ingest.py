"""Ingest download logs into the store: detect the format from the content (plain or gzip), read it inside
DuckDB, reject unreadable rows with their line numbers, and commit each file in one transaction, once.

Formats (``detect_format`` tells them apart by content, never by file name):

- ``piwheels``: piwheels' ``downloads`` table as CSV, with its header (13 columns, or the 10 of March 2020) or
  without one. The client address is never stored, only a salted hash of it.
- ``bigquery``: rows of PyPI's ``file_downloads`` BigQuery table as exported: JSON lines (nested), CSV with
  flattened column names (``file_project`` or ``file.project``), or Parquet (nested or flattened).
- ``pypistats``: one response of pypistats.org's ``overall``, ``python_major``, ``python_minor`` or ``system``
  endpoint, stored as daily counts.
- ``counts``: ``date,package,downloads`` plus optional ``python``, ``platform``, ``version``.
- ``releases``: rows of PyPI's ``distribution_metadata`` BigQuery table (one uploaded file each: name, version,
  upload_time, requires_dist, ...) as JSON lines, CSV or Parquet; stored in ``releases``, not as downloads.

Each format has its reader in ``depgraph/downloads/formats/``; this module tells the format, runs the reader in
one transaction and records the file. Every reader streams: a file is scanned by DuckDB and never held in memory
or in a temporary table, so memory does not grow with the size of the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from depgraph.downloads import daily
from depgraph.downloads.formats.bigquery import ingest_bigquery
from depgraph.downloads.formats.counts import ingest_counts
from depgraph.downloads.formats.events import sweep_refused
from depgraph.downloads.formats.piwheels import ingest_piwheels
from depgraph.downloads.formats.pypistats import ingest_pypistats
from depgraph.downloads.formats.releases import ingest_releases
from depgraph.downloads.formats.scan import SHOWN_REJECTS, IngestReport, Rejected, first_line
from depgraph.downloads.formats.sniff import (
    FORMATS,
    HEAD_SIZE,
    PIWHEELS_COLUMNS,
    PIWHEELS_V015_COLUMNS,
    Sniffed,
    detect_format,
    file_sha256,
    sniff,
)
from depgraph.downloads.store import Store
from depgraph.errors import BadInput, StoreError

__all__ = ["FORMATS", "HEAD_SIZE", "PIWHEELS_COLUMNS", "PIWHEELS_V015_COLUMNS", "SHOWN_REJECTS", "SOURCES",
           "IngestReport", "Rejected", "Sniffed", "check_file", "check_files", "detect_format", "file_sha256",
           "ingest_file", "ingest_files", "sniff"]

SOURCES = {"piwheels": "piwheels", "bigquery": "pypi", "pypistats": "pypi", "counts": "counts", "releases": "pypi"}
Reader = Callable[[Store, Path, str, IngestReport, str], None]
EVENT_FORMATS = ("piwheels", "bigquery")  # stored as download_events (see depgraph.downloads.formats.events)

READERS: dict[str, Reader] = {
    "piwheels": ingest_piwheels,
    "bigquery": ingest_bigquery,
    "pypistats": ingest_pypistats,
    "counts": ingest_counts,
    "releases": ingest_releases,
}


def check_file(path: Path, fmt: str = "auto") -> str:
    """The format ``path`` will be read as; BadInput when it is missing, unreadable or not of format ``fmt``."""
    if not path.exists():
        raise BadInput(f"{path} does not exist", "give the path of a download log")
    if not path.is_file():
        raise BadInput(f"{path} is not a file", "give the path of a download log")
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r} for {path}", f"use one of {', '.join(FORMATS)}")
    if fmt == "auto":
        return detect_format(path)
    detected = sniff(path).format
    if detected not in (None, "empty", fmt):
        raise BadInput(f"{path} looks like a {detected} file, not {fmt}", f"drop --format or use --format {detected}")
    return "empty" if detected == "empty" else fmt


def check_files(paths: list[Path], fmt: str = "auto") -> list[str]:
    """Check every file before any is ingested, so a typo in the last one does not leave the others half done."""
    return [check_file(path, fmt) for path in paths]


def ingest_file(store: Store, path: Path, fmt: str = "auto", *, strict: bool = False,
                source: str | None = None) -> IngestReport:
    """Ingest one file in one transaction; a file already ingested (same content) is reported and skipped.

    With ``strict``, a file with any unreadable row is refused whole and the store is left as it was. A file that
    gives no row to store is reported and not recorded (nothing changes), so a later run judges it again.
    """
    fmt = check_file(path, fmt)
    source = source or SOURCES.get(fmt, fmt)
    digest = file_sha256(path)
    report = IngestReport(str(path), fmt, digest)
    if store.query("SELECT 1 FROM ingested_files WHERE sha256 = ?", [digest]):
        report.skipped = True
        return report
    if fmt == "empty":
        return report
    connection = store.connection
    connection.execute("SET TimeZone = 'UTC'")  # times with a zone are converted to UTC, times without one are UTC
    connection.execute("BEGIN")
    try:
        # recorded first, so that the rows read can name it (download_events.ingest); counts filled in at the end
        connection.execute("INSERT INTO ingested_files (sha256, name, format, source, rows, rejected, ingested_at, "
                           "id) SELECT ?, ?, ?, ?, 0, 0, now(), coalesce(max(id), 0) + 1 FROM ingested_files",
                           [digest, path.name, fmt, source])
        _read(READERS[fmt], store, path, digest, report, source)
        if strict and report.rejected:
            first = report.examples[0]
            raise BadInput(f"{path}: {report.rejected} rows cannot be read (first: {first.describe()})",
                           "fix them, or drop --strict; nothing was stored")
        if not report.rows:  # nothing to store: not recorded either, so a later run (--strict) judges it again
            connection.execute("ROLLBACK")
            return report
        if fmt != "releases":
            daily.add_ingest(store, digest, events=fmt in EVENT_FORMATS)
        connection.execute("UPDATE ingested_files SET rows = ?, rejected = ? WHERE sha256 = ?",
                           [report.rows, report.rejected, digest])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    if report.rejected and fmt in EVENT_FORMATS:
        sweep_refused(store, digest)
    return report


def _read(reader: Reader, store: Store, path: Path, digest: str, report: IngestReport, source: str) -> None:
    """Run a reader; DuckDB's complaints about the file itself become BadInput naming the file."""
    try:
        reader(store, path, digest, report, source)
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise BadInput(f"{path}: {first_line(exc)}", "fix the file, or give --format if it was misdetected") \
            from exc
    except duckdb.IOException as exc:
        if str(path) not in str(exc):
            raise
        raise BadInput(f"{path}: {first_line(exc)}", "the file is truncated or not what its content claims") \
            from exc


def ingest_files(store: Store, paths: list[Path], fmt: str = "auto", *, strict: bool = False,
                 source: str | None = None, progress: Callable[[Path], None] | None = None) -> list[IngestReport]:
    """Ingest ``paths`` in order, each in its own transaction; every path is checked before the first is read."""
    check_files(paths, fmt)
    reports = []
    for path in paths:
        if progress:
            progress(path)
        try:
            reports.append(ingest_file(store, path, fmt, strict=strict, source=source))
        except duckdb.Error as exc:
            raise StoreError(f"{path}: {first_line(exc)}", "the store is unchanged for this file") from exc
    return reports
