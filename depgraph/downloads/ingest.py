"""Ingest download logs into the store: detect the format, read it inside DuckDB (streamed, plain or gzip),
reject unreadable rows with their line numbers, and commit each file in one transaction, once.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from depgraph.downloads.store import Store
from depgraph.errors import BadInput, StoreError

PIWHEELS_COLUMNS = ("filename", "accessed_by", "accessed_at", "arch", "distro_name", "distro_version", "os_name",
                    "os_version", "py_name", "py_version", "installer_name", "installer_version",
                    "setuptools_version")
PIWHEELS_V015_COLUMNS = PIWHEELS_COLUMNS[:10]  # March 2020: no installer or setuptools columns yet
COUNTS_REQUIRED = ("date", "package", "downloads")
COUNTS_OPTIONAL = ("python", "platform", "version")
FORMATS = ("auto", "piwheels", "counts")
SHOWN_REJECTS = 5


@dataclass(frozen=True)
class Rejected:
    line: int | None
    reason: str


@dataclass
class IngestReport:
    """What one file gave: rows stored, rows rejected (the first few with reasons), or skipped as seen before."""

    path: str
    format: str
    sha256: str
    rows: int = 0
    rejected: int = 0
    examples: list[Rejected] = field(default_factory=list)
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "sha256": self.sha256, "rows": self.rows,
                "rejected": self.rejected, "skipped": self.skipped,
                "examples": [{"line": r.line, "reason": r.reason} for r in self.examples]}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _head(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as handle:
        start = handle.read(2)
    opener = gzip.open if start == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as handle:  # type: ignore[operator]
            return handle.read(size)
    except (OSError, EOFError) as exc:
        raise BadInput(f"{path} is not readable as plain or gzip text ({exc})", "give an uncompressed or .gz log") \
            from exc


def detect_format(path: Path) -> str:
    """The format of a log file, from its first bytes."""
    head = _head(path)
    if not head.strip():
        return "empty"
    first_line = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[0]
    header = [c.strip().strip('"').lower() for c in first_line.split(",")]
    if header[: len(PIWHEELS_V015_COLUMNS)] == list(PIWHEELS_V015_COLUMNS):
        return "piwheels"
    if set(COUNTS_REQUIRED) <= set(header):
        return "counts"
    raise BadInput(f"{path}: cannot tell its format from the first line {first_line[:80]!r}",
                   f"give --format, one of {', '.join(FORMATS[1:])}")


def ingest_file(store: Store, path: Path, fmt: str = "auto", *, strict: bool = False,
                source: str | None = None) -> IngestReport:
    """Ingest one file in one transaction; a file already ingested (same content) is reported and skipped."""
    if not path.is_file():
        raise BadInput(f"{path} is not a file", "give the path of a download log")
    fmt = detect_format(path) if fmt == "auto" else fmt
    digest = file_sha256(path)
    report = IngestReport(str(path), fmt, digest)
    if store.query("SELECT 1 FROM ingested_files WHERE sha256 = ?", [digest]):
        report.skipped = True
        return report
    if fmt == "empty":
        return report
    reader = READERS.get(fmt)
    if reader is None:
        raise BadInput(f"unknown format {fmt!r} for {path}", f"use one of {', '.join(FORMATS)}")
    connection = store.connection
    connection.execute("BEGIN")
    try:
        reader(store, path, digest, report, source)
        if strict and report.rejected:
            raise BadInput(f"{path}: {report.rejected} rows cannot be read (first: line "
                           f"{report.examples[0].line}: {report.examples[0].reason})", "fix them, or drop --strict")
        connection.execute("INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?, now())",
                           [digest, path.name, fmt, source or _default_source(fmt), report.rows, report.rejected])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return report


def _default_source(fmt: str) -> str:
    return {"piwheels": "piwheels"}.get(fmt, "counts")


def _rejects(store: Store, report: IngestReport) -> list[int]:
    """Move DuckDB's CSV reject log into the report (once per line); returns the rejected line numbers."""
    rows = store.query("SELECT line, min(error_message) FROM reject_errors GROUP BY line ORDER BY line")
    report.rejected += len(rows)
    report.examples.extend(Rejected(int(line), reason.splitlines()[0]) for line, reason in rows[:SHOWN_REJECTS])
    store.connection.execute("DELETE FROM reject_errors; DELETE FROM reject_scans")
    return [int(line) for line, _ in rows]


def _file_line(row_number: int, rejected_lines: list[int]) -> int:
    """The file line of the ``row_number``-th accepted data row (1-based), given the lines DuckDB rejected."""
    line = row_number + 1  # the header is line 1
    for rejected in rejected_lines:
        if rejected <= line:
            line += 1
    return line


def _add_examples(report: IngestReport, examples: list[Rejected]) -> None:
    report.examples = sorted([*report.examples, *examples], key=lambda r: r.line or 0)[:SHOWN_REJECTS]


def _csv_scan(path: Path, columns: tuple[str, ...]) -> str:
    spec = ", ".join(f"'{c}': 'VARCHAR'" for c in columns)
    return (f"read_csv({_sql_string(str(path))}, header = true, columns = {{{spec}}}, store_rejects = true, "
            "null_padding = false, strict_mode = true, quote = '\"', escape = '\"', auto_detect = false, "
            "delim = ',')")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _piwheels_columns(path: Path) -> tuple[str, ...]:
    header = _head(path).decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[0].lower()
    return PIWHEELS_COLUMNS if "installer_name" in header else PIWHEELS_V015_COLUMNS


def ingest_piwheels(store: Store, path: Path, digest: str, report: IngestReport, source: str | None) -> None:
    """piwheels' ``downloads`` table as CSV: package and version come from the filename (via ``packaging``)."""
    from depgraph.downloads.filenames import register_filenames

    connection = store.connection
    columns = _piwheels_columns(path)
    connection.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM {_csv_scan(path, columns)}")
    rejected_lines = _rejects(store, report)
    connection.execute("CREATE OR REPLACE TEMP TABLE raw_numbered AS SELECT *, row_number() OVER () AS n FROM raw")
    register_filenames(connection, "raw_numbered")
    bad = connection.execute(
        "SELECT r.n, r.filename, f.reason, r.accessed_at FROM raw_numbered r JOIN filenames f USING (filename) "
        "WHERE f.package IS NULL UNION ALL "
        "SELECT n, filename, 'accessed_at is not a timestamp', accessed_at FROM raw_numbered "
        "WHERE try_cast(accessed_at AS TIMESTAMP) IS NULL ORDER BY 1").fetchall()
    report.rejected += len(bad)
    _add_examples(report, [Rejected(_file_line(int(n), rejected_lines), f"{filename!r}: {reason}")
                           for n, filename, reason, _ in bad[:SHOWN_REJECTS]])
    has_installer = "installer_name" in columns
    salt = store.meta("client_salt") or ""
    report.rows = connection.execute(f"""
        INSERT INTO downloads
        SELECT ?, try_cast(r.accessed_at AS TIMESTAMP), f.package, f.version, f.kind, r.filename,
               regexp_extract(r.py_version, '^(\\d+\\.\\d+)'), nullif(r.py_version, ''), nullif(r.py_name, ''),
               nullif(r.arch, ''), nullif(r.os_name, ''), nullif(r.distro_name, ''), nullif(r.distro_version, ''),
               {"nullif(r.installer_name, '')" if has_installer else "NULL"},
               {"nullif(r.installer_version, '')" if has_installer else "NULL"},
               CASE WHEN coalesce(r.accessed_by, '') = '' THEN NULL
                    ELSE left(sha256(? || r.accessed_by), 16) END, ?
        FROM raw_numbered r JOIN filenames f USING (filename)
        WHERE f.package IS NOT NULL AND try_cast(r.accessed_at AS TIMESTAMP) IS NOT NULL
    """, [source or "piwheels", salt, digest]).fetchone()[0]
    connection.execute("DROP TABLE raw; DROP TABLE raw_numbered; DROP TABLE filenames")


def ingest_counts(store: Store, path: Path, digest: str, report: IngestReport, source: str | None) -> None:
    """``date,package,downloads`` plus optional ``python``, ``platform``, ``version``: daily counts of anything."""
    from depgraph.downloads.filenames import canonical_names

    header = _head(path).decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[0]
    columns = tuple(c.strip().strip('"').lower() for c in header.split(","))
    unknown = [c for c in columns if c not in COUNTS_REQUIRED + COUNTS_OPTIONAL]
    if unknown:
        raise BadInput(f"{path}: unknown column {unknown[0]!r} in a counts file",
                       f"columns are {', '.join(COUNTS_REQUIRED + COUNTS_OPTIONAL)}")
    connection = store.connection
    connection.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT *, row_number() OVER () AS n "
                       f"FROM {_csv_scan(path, columns)}")
    rejected_lines = _rejects(store, report)
    canonical_names(connection, "raw")
    optional = {c: (f"nullif(r.{c}, '')" if c in columns else "NULL") for c in COUNTS_OPTIONAL}
    valid = ("try_cast(r.date AS DATE) IS NOT NULL AND try_cast(r.downloads AS BIGINT) >= 0 "
             "AND c.package IS NOT NULL")
    bad = connection.execute(f"SELECT r.n FROM raw r LEFT JOIN names c ON c.raw = r.package WHERE NOT ({valid}) "
                             "ORDER BY r.n").fetchall()
    report.rejected += len(bad)
    reason = "needs a YYYY-MM-DD date, a valid package name and a whole number of downloads"
    _add_examples(report, [Rejected(_file_line(int(n), rejected_lines), reason) for (n,) in bad[:SHOWN_REJECTS]])
    breakdown = "total"  # each row is a disjoint slice: the rows add up to the total
    report.rows = connection.execute(f"""
        INSERT INTO download_counts
        SELECT ?, try_cast(r.date AS DATE), c.package, '{breakdown}', {optional['version']}, {optional['python']},
               {optional['platform']}, NULL, NULL, try_cast(r.downloads AS BIGINT), ?
        FROM raw r JOIN names c ON c.raw = r.package WHERE {valid}
    """, [source or "counts", digest]).fetchone()[0]
    connection.execute("DROP TABLE raw; DROP TABLE names")


READERS: dict[str, Callable[[Store, Path, str, IngestReport, str | None], None]] = {
    "piwheels": ingest_piwheels,
    "counts": ingest_counts,
}


def ingest_files(store: Store, paths: list[Path], fmt: str = "auto", *, strict: bool = False,
                 source: str | None = None, progress: Callable[[Path], None] | None = None) -> list[IngestReport]:
    reports = []
    for path in paths:
        if progress:
            progress(path)
        try:
            reports.append(ingest_file(store, path, fmt, strict=strict, source=source))
        except duckdb.Error as exc:
            raise StoreError(f"{path}: {str(exc).splitlines()[0]}", "the store is unchanged for this file") from exc
    return reports
