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

Every reader streams: a file is scanned a few times by DuckDB (distinct names, the bad rows, the insert) and never
held in memory or in a temporary table, so memory does not grow with the size of the file.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from depgraph.downloads.filenames import canonical_name, canonical_names, register_filenames
from depgraph.downloads.store import Store
from depgraph.errors import BadInput, StoreError

PIWHEELS_COLUMNS = ("filename", "accessed_by", "accessed_at", "arch", "distro_name", "distro_version", "os_name",
                    "os_version", "py_name", "py_version", "installer_name", "installer_version",
                    "setuptools_version")
PIWHEELS_V015_COLUMNS = PIWHEELS_COLUMNS[:10]  # March 2020: no installer or setuptools columns yet
COUNTS_REQUIRED = ("date", "package", "downloads")
COUNTS_OPTIONAL = ("python", "platform", "version")
FORMATS = ("auto", "piwheels", "bigquery", "pypistats", "counts", "releases")
SOURCES = {"piwheels": "piwheels", "bigquery": "pypi", "pypistats": "pypi", "counts": "counts", "releases": "pypi"}
# distribution_metadata columns depgraph keeps; a release export is told by the first three plus either of the next
RELEASE_REQUIRED = ("name", "version", "upload_time")
RELEASE_MARKERS = ("requires_dist", "packagetype")
RELEASE_FIELDS = (*RELEASE_REQUIRED, "requires_dist", "requires_python", "packagetype", "filename")
SHOWN_REJECTS = 5
HEAD_SIZE = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
LINE_DELIMITER = "\x1f"  # a control character that valid JSON text never holds unescaped: one column per line

# BigQuery's file_downloads columns depgraph keeps, as paths in the nested row; the first path present wins.
BIGQUERY_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "ts": (("timestamp",),),
    "project": (("file", "project"), ("project",)),
    "version": (("file", "version"),),
    "file_type": (("file", "type"),),
    "filename": (("file", "filename"),),
    "python": (("details", "python"),),
    "implementation": (("details", "implementation", "name"),),
    "implementation_version": (("details", "implementation", "version"),),
    "installer": (("details", "installer", "name"),),
    "installer_version": (("details", "installer", "version"),),
    "os": (("details", "system", "name"),),
    "arch": (("details", "cpu"),),
    "distro": (("details", "distro", "name"),),
    "distro_version": (("details", "distro", "version"),),
}

# pypistats endpoint (response "type") -> the breakdown its rows are stored under
PYPISTATS_TYPES = {"overall_downloads": "total", "python_major_downloads": "python",
                   "python_minor_downloads": "python", "system_downloads": "os"}

DOWNLOAD_COLUMNS = ("source, ts, package, version, file_kind, filename, python, python_full, implementation, arch, "
                    "os, distro, distro_version, installer, installer_version, client, file_sha256")


@dataclass(frozen=True)
class Rejected:
    """A row that was not stored: its line in the file (None where the format has no lines) and why."""

    line: int | None
    reason: str

    def describe(self) -> str:
        """``line 12: reason``, or just the reason (which then says where) when the format has no lines."""
        return f"line {self.line}: {self.reason}" if self.line is not None else self.reason


@dataclass
class IngestReport:
    """What one file gave: rows stored, rows rejected (the first few with reasons), or skipped as seen before.

    ``replaced`` counts daily counts of earlier pypistats responses that this one superseded (same package,
    breakdown and day). ``duplicates`` counts release rows (files) already stored from another export, or
    repeated within this one, which are not stored again.
    """

    path: str
    format: str
    sha256: str
    rows: int = 0
    rejected: int = 0
    examples: list[Rejected] = field(default_factory=list)
    skipped: bool = False
    replaced: int = 0
    duplicates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "sha256": self.sha256, "rows": self.rows,
                "rejected": self.rejected, "skipped": self.skipped, "replaced": self.replaced,
                "duplicates": self.duplicates,
                "examples": [{"line": r.line, "reason": r.reason} for r in self.examples]}


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


def _head(path: Path, compression: str, size: int = HEAD_SIZE) -> bytes:
    opener: Callable[..., Any] = gzip.open if compression == "gzip" else open
    try:
        with opener(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError) as exc:
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
    head = _head(path, compression)
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
    keys = _bigquery_keys(first.keys()) if first else None
    if keys is None and (_is_releases(first.keys()) if first else _names_release_keys(body)):
        return Sniffed("releases", "jsonl", compression)
    return Sniffed("bigquery" if keys else None, "jsonl", compression, keys=keys or "nested")


def _is_releases(keys: Iterable[str]) -> bool:
    """Whether column (or key) names are those of a distribution_metadata export."""
    names = {k.strip().lower() for k in keys}
    return set(RELEASE_REQUIRED) <= names and bool(names & set(RELEASE_MARKERS))


def _names_release_keys(body: str) -> bool:
    """A first release row longer than the head read (a long description) has no whole line: look for its keys."""
    compact = body.replace('": ', '":')
    return _is_releases(key for key in (*RELEASE_REQUIRED, *RELEASE_MARKERS) if f'"{key}":' in compact)


def _sniff_parquet(path: Path) -> Sniffed:
    """Parquet is told by its columns: BigQuery file_downloads, release metadata, or neither (format None)."""
    names = _parquet_columns(path)
    if _bigquery_keys(names) is not None:
        return Sniffed("bigquery", "parquet", "none")
    return Sniffed("releases" if _is_releases(names) else None, "parquet", "none")


def _parquet_columns(path: Path) -> dict[str, tuple[str, str]]:
    """A Parquet file's columns from its footer: lowercase name -> (name as written, DuckDB type)."""
    connection = duckdb.connect()
    try:
        described = connection.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_string(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise BadInput(f"{path} is not a readable Parquet file: {_first_line(exc)}", "export it again") from exc
    finally:
        connection.close()
    return {row[0].lower(): (row[0], row[1]) for row in described}


def _first_json_object(body: str, tries: int = 20) -> dict[str, Any] | None:
    """The first line of ``body`` that is a whole JSON object (a JSON-lines file may start with a broken line)."""
    for line in body.splitlines()[:tries]:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _bigquery_keys(keys: Iterable[str]) -> str | None:
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
    if _is_releases(names):
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
        first_line = _head(path, sniffed.compression, 4096).decode("utf-8", errors="replace").strip()
        first_line = first_line.splitlines()[0] if first_line else ""
        raise BadInput(f"{path}: cannot tell its format from the first line {first_line[:80]!r}",
                       f"give --format, one of {', '.join(FORMATS[1:])}")
    return sniffed.format


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

    With ``strict``, a file with any unreadable row is refused whole and the store is left as it was.
    """
    fmt = check_file(path, fmt)
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
        _read(READERS[fmt], store, path, digest, report, source)
        if strict and report.rejected:
            first = report.examples[0]
            raise BadInput(f"{path}: {report.rejected} rows cannot be read (first: {first.describe()})",
                           "fix them, or drop --strict; nothing was stored")
        connection.execute("INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?, now())",
                           [digest, path.name, fmt, source or SOURCES[fmt], report.rows, report.rejected])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return report


def _read(reader: Reader, store: Store, path: Path, digest: str, report: IngestReport, source: str | None) -> None:
    """Run a reader; DuckDB's complaints about the file itself become BadInput naming the file."""
    try:
        reader(store, path, digest, report, source)
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise BadInput(f"{path}: {_first_line(exc)}", "fix the file, or give --format if it was misdetected") \
            from exc
    except duckdb.IOException as exc:
        if str(path) not in str(exc):
            raise
        raise BadInput(f"{path}: {_first_line(exc)}", "the file is truncated or not what its content claims") \
            from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- scanning helpers ----------------------------------------------------------------------------------------

def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv_scan(path: Path, columns: tuple[str, ...], compression: str, *, header: bool, log_rejects: bool) -> str:
    """A strict CSV scan with every column VARCHAR; bad rows are skipped and, with ``log_rejects``, logged.

    DuckDB checks a value's encoding only when the query reads its column, so a query reading fewer columns
    would keep a row that another drops; the filter on all the columns makes every scan drop the same rows.
    """
    spec = ", ".join(f"{_sql_string(c)}: 'VARCHAR'" for c in columns)
    errors = "store_rejects = true" if log_rejects else "ignore_errors = true"
    every_column = ", ".join(_ident(c) for c in columns)
    return (f"(SELECT * FROM read_csv({_sql_string(str(path))}, header = {str(header).lower()}, "
            f"columns = {{{spec}}}, {errors}, null_padding = false, strict_mode = true, quote = '\"', escape = '\"', "
            f"auto_detect = false, delim = ',', compression = '{compression}') WHERE hash({every_column}) IS NOT NULL)")


def _lines_scan(path: Path, compression: str, *, encoding: str = "utf-8", log_rejects: bool = False) -> str:
    """Every line of a text file as one VARCHAR ``line`` (NULL for an empty line), in file order."""
    errors = ", store_rejects = true" if log_rejects else ", ignore_errors = true"
    return (f"read_csv({_sql_string(str(path))}, header = false, columns = {{'line': 'VARCHAR'}}, "
            f"delim = '{LINE_DELIMITER}', quote = '', escape = '', auto_detect = false, strict_mode = false, "
            f"encoding = '{encoding}', compression = '{compression}'{errors})")


def _numbered(scan: str, numbered: bool = True) -> str:
    """``scan`` with ``n``, the 1-based number of each row it yields in file order (a streaming window)."""
    return f"(SELECT row_number() OVER () AS n, * FROM {scan})" if numbered else f"(SELECT * FROM {scan})"


@dataclass(frozen=True)
class Rows:
    """How a reader sees a file: SQL for its rows, and how a row's number becomes a line number.

    ``scan(numbered, log_rejects)`` is a parenthesised query. With ``numbered`` it carries ``n``, each row's
    number in file order; that streaming window runs on one thread, so it is asked for only when a bad row must be
    located. With ``log_rejects``, rows the CSV reader cannot read go to DuckDB's reject log. ``header`` is the
    number of lines before the first row (None where the format has no lines, e.g. Parquet); ``blank_lines`` is
    a scan of the file's lines, given where the reader skips empty lines silently.
    """

    scan: Callable[[bool, bool], str]
    header: int | None
    blank_lines: str | None = None


def _ingest_rows(store: Store, report: IngestReport, rows: Rows, *, keys: Callable[[str], None],
                 checked: Callable[[str], str], insert: str, params: dict[str, Any]) -> None:
    """The scans every log reader makes, none of which holds the file in memory.

    ``keys`` reads the distinct names (or filenames) and parses each once; then the bad rows are counted and the
    first few located; then ``insert`` (SQL over ``{checked}``: the rows with a ``reason``, NULL for a good row)
    stores the good ones.
    """
    _start_skipped(store)
    keys(rows.scan(False, True))
    _collect_reader_rejects(store, report)
    # with no row estimate for a file scan, DuckDB would build its join's hash table on the whole file rather
    # than on the small table of parsed names: memory would grow with the file
    store.connection.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        _report_bad_rows(store, report, rows, checked)
        (report.rows,) = store.connection.execute(insert.format(checked=checked(rows.scan(False, False))),
                                                  params).fetchone()
    finally:
        store.connection.execute("RESET disabled_optimizers")
    _drop(store, "skipped_lines")


def _start_skipped(store: Store) -> None:
    """``skipped_lines``: lines the reader dropped (rejected or blank), to turn row numbers into line numbers."""
    store.connection.execute("CREATE OR REPLACE TEMP TABLE skipped_lines (line BIGINT)")


def _collect_reader_rejects(store: Store, report: IngestReport) -> None:
    """Move DuckDB's reject log (rows its CSV reader could not read) into the report and ``skipped_lines``."""
    connection = store.connection
    if not store.query("SELECT 1 FROM duckdb_tables() WHERE table_name = 'reject_errors' AND temporary"):
        return
    connection.execute("INSERT INTO skipped_lines SELECT DISTINCT line FROM reject_errors")
    (count,) = connection.execute("SELECT count(DISTINCT line) FROM reject_errors").fetchone()
    report.rejected += int(count)
    examples = connection.execute("SELECT line, min(error_message) FROM reject_errors GROUP BY line ORDER BY line "
                                  f"LIMIT {SHOWN_REJECTS}").fetchall()
    _add_examples(report, [Rejected(int(line), (reason or "unreadable").splitlines()[0]) for line, reason in examples])
    connection.execute("DELETE FROM reject_errors; DELETE FROM reject_scans")


def _add_examples(report: IngestReport, examples: list[Rejected]) -> None:
    merged = [*report.examples, *examples]
    report.examples = sorted(merged, key=lambda r: (r.line is None, r.line or 0))[:SHOWN_REJECTS]


def _first_bad_rows(store: Store, checked: str) -> list[tuple[int, str]]:
    """The first few rows of ``checked`` (numbered) that have a ``reason``, as (row number, reason)."""
    return [(int(n), reason) for n, reason in store.connection.execute(
        f"SELECT n, reason FROM {checked} WHERE reason IS NOT NULL ORDER BY n LIMIT {SHOWN_REJECTS}").fetchall()]


def _line_of(store: Store, row: int, header: int) -> int:
    """The file line of the ``row``-th row a reader yielded: the ``row``-th line after the header not skipped."""
    (before,) = store.connection.execute(
        "SELECT count(*) FROM (SELECT line, row_number() OVER (ORDER BY line) AS i "
        "FROM (SELECT DISTINCT line FROM skipped_lines WHERE line > $header)) WHERE line - $header - i < $row",
        {"header": header, "row": row}).fetchone()
    return header + row + int(before)


def _report_bad_rows(store: Store, report: IngestReport, rows: Rows, checked: Callable[[str], str]) -> None:
    """Count the rows with a reason; report the first few by line (or by row where the format has no lines)."""
    (count,) = store.connection.execute(
        f"SELECT count(*) FROM {checked(rows.scan(False, False))} WHERE reason IS NOT NULL").fetchone()
    report.rejected += int(count)
    if not count:
        return
    first = _first_bad_rows(store, checked(rows.scan(True, False)))
    if rows.header is None:
        _add_examples(report, [Rejected(None, f"row {n}: {reason}") for n, reason in first])
        return
    if rows.blank_lines:  # the CSV reader skips empty lines silently: find them only when a line number is needed
        store.connection.execute(f"INSERT INTO skipped_lines SELECT n FROM {_numbered(rows.blank_lines)} "
                                 "WHERE line IS NULL")
    _add_examples(report, [Rejected(_line_of(store, n, rows.header), reason) for n, reason in first])


def _drop(store: Store, *tables: str) -> None:
    for table in tables:
        store.connection.execute(f"DROP TABLE IF EXISTS {table}")


def _timestamp(expression: str) -> str:
    """SQL turning a time string into a UTC TIMESTAMP (NULL when it is not one); a time without a zone is UTC.

    Accepts BigQuery's ``2020-03-05 14:02:11.123456 UTC``, linehaul's ``2021-01-07 20:54:54 +00:00``, ISO 8601
    and piwheels' plain ``2020-03-05 14:02:11``; the session time zone is UTC while ingesting.
    """
    general = (f"try_cast(regexp_replace(trim({expression}), '\\s+([+-]\\d\\d(:?\\d\\d)?)$', '\\1') "
               "AS TIMESTAMPTZ)::TIMESTAMP")
    # the plain forms first: strptime is several times cheaper than the regular expression and the zone cast
    return (f"coalesce(try_strptime({expression}, '%Y-%m-%d %H:%M:%S'), "
            f"try_strptime({expression}, '%Y-%m-%d %H:%M:%S.%f'), {general})")


def _whole_number(expression: str) -> str:
    """SQL for a count written as digits (``12``, not ``12.5`` or ``-1``) as BIGINT, else NULL."""
    return f"CASE WHEN regexp_full_match(trim({expression}), '[0-9]+') THEN try_cast(trim({expression}) AS BIGINT) END"


def _major_minor(expression: str) -> str:
    """SQL for the ``major.minor`` prefix of a Python version string such as ``2.7.16``, else NULL."""
    return f"nullif(regexp_extract({expression}, '^(\\d+\\.\\d+)', 1), '')"


# --- piwheels ------------------------------------------------------------------------------------------------

PIWHEELS_CHECKED = """(SELECT r.*, f.package, f.version, f.kind,
        CASE WHEN r.filename IS NULL THEN 'no filename'
             WHEN f.package IS NULL THEN concat('''', r.filename, ''': ', f.reason)
             WHEN r.at IS NULL THEN concat('accessed_at ''', r.accessed_at, ''' is not a time')
        END AS reason
    FROM (SELECT *, {at} AS at FROM {scan}) r LEFT JOIN filenames f USING (filename))"""


def ingest_piwheels(store: Store, path: Path, digest: str, report: IngestReport, source: str | None) -> None:
    """piwheels' ``downloads`` table as CSV: package and version come from the filename (via ``packaging``).

    ``accessed_by`` (the client's address) is never stored: only a salted hash of it, to tell clients apart.
    """
    sniffed = sniff(path)
    columns = _unique(sniffed.header) or _headerless_piwheels_columns(path, sniffed.compression)
    if columns[: len(PIWHEELS_V015_COLUMNS)] != PIWHEELS_V015_COLUMNS:
        raise BadInput(f"{path} does not start with piwheels' downloads columns",
                       f"the first ten are {', '.join(PIWHEELS_V015_COLUMNS)}")
    header = bool(sniffed.header)
    rows = Rows(lambda numbered, log: _numbered(_csv_scan(path, columns, sniffed.compression, header=header,
                                                          log_rejects=log), numbered),
                int(header), _lines_scan(path, sniffed.compression, encoding="latin-1"))
    installer = ("nullif(c.installer_name, '')", "nullif(c.installer_version, '')") \
        if "installer_name" in columns else ("NULL", "NULL")
    insert = f"""
        INSERT INTO downloads ({DOWNLOAD_COLUMNS})
        SELECT $source, c.at, c.package, c.version, c.kind, c.filename, {_major_minor("c.py_version")},
               nullif(c.py_version, ''), nullif(c.py_name, ''), nullif(c.arch, ''), nullif(c.os_name, ''),
               nullif(c.distro_name, ''), nullif(c.distro_version, ''), {installer[0]}, {installer[1]},
               CASE WHEN coalesce(c.accessed_by, '') = '' THEN NULL
                    ELSE left(sha256($salt || c.accessed_by), 16) END, $digest
        FROM {{checked}} c WHERE c.reason IS NULL"""
    _ingest_rows(store, report, rows, keys=lambda scan: register_filenames(store.connection, scan),
                 checked=lambda scan: PIWHEELS_CHECKED.format(at=_timestamp("accessed_at"), scan=scan),
                 insert=insert, params={"source": source or SOURCES["piwheels"],
                                        "salt": store.meta("client_salt") or "", "digest": digest})
    _drop(store, "filenames")


def _headerless_piwheels_columns(path: Path, compression: str) -> tuple[str, ...]:
    first = _head(path, compression).decode("utf-8", errors="replace").splitlines()[0]
    count = len(next(csv.reader([first]), []))
    return PIWHEELS_COLUMNS if count == len(PIWHEELS_COLUMNS) else PIWHEELS_V015_COLUMNS


# --- BigQuery file_downloads -----------------------------------------------------------------------------------

BIGQUERY_CHECKED = """(SELECT r.*, names.package,
        CASE WHEN r.malformed IS NOT NULL THEN r.malformed
             WHEN coalesce(trim(r.ts), '') = '' THEN 'no timestamp'
             WHEN r.at IS NULL THEN concat('timestamp ''', r.ts, ''' is not a time')
             WHEN coalesce(trim(r.project), '') = '' THEN 'no project (file.project)'
             WHEN names.package IS NULL THEN concat('project ''', r.project, ''' is not a valid name')
        END AS reason
    FROM (SELECT *, {at} AS at FROM {scan}) r LEFT JOIN names ON names.raw = r.project)"""


def ingest_bigquery(store: Store, path: Path, digest: str, report: IngestReport, source: str | None) -> None:
    """Rows of PyPI's ``bigquery-public-data.pypi.file_downloads``, one download each, as a user exports them.

    JSON lines keep BigQuery's nesting (``file.project``, ``details.installer.name``; a missing key or a null
    ``details`` is NULL). CSV cannot hold nested fields, so its columns are the paths joined with ``_`` (the
    documented naming) or ``.`` (as DuckDB, pandas and the BigQuery console write them). Parquet may be either.
    The package is ``file.project`` in its PEP 503 form; ``python`` is the major.minor of ``details.python``
    (else of the implementation's version). A row without a time or a valid project is rejected.
    """
    sniffed = sniff(path)
    if sniffed.layout == "jsonl":
        rows = _bigquery_json_rows(path, sniffed)
    elif sniffed.layout == "csv":
        rows = _bigquery_csv_rows(path, sniffed)
    elif sniffed.layout == "parquet":
        rows = _bigquery_parquet_rows(store, path)
    else:
        raise BadInput(f"{path} is not BigQuery rows as JSON lines, CSV or Parquet", "export file_downloads again")
    kind = ("CASE WHEN coalesce(c.file_type, '') = '' THEN NULL WHEN c.file_type = 'bdist_wheel' THEN 'wheel' "
            "WHEN c.file_type = 'sdist' THEN 'sdist' ELSE 'other' END")
    python_full = "coalesce(nullif(c.python, ''), nullif(c.implementation_version, ''))"
    insert = f"""
        INSERT INTO downloads ({DOWNLOAD_COLUMNS})
        SELECT $source, c.at, c.package, nullif(c.version, ''), {kind}, nullif(c.filename, ''),
               {_major_minor(python_full)}, {python_full}, nullif(c.implementation, ''), nullif(c.arch, ''),
               nullif(c.os, ''), nullif(c.distro, ''), nullif(c.distro_version, ''), nullif(c.installer, ''),
               nullif(c.installer_version, ''), NULL, $digest
        FROM {{checked}} c WHERE c.reason IS NULL"""
    _ingest_rows(store, report, rows, keys=lambda scan: canonical_names(store.connection, scan, "project"),
                 checked=lambda scan: BIGQUERY_CHECKED.format(at=_timestamp("ts"), scan=scan),
                 insert=insert, params={"source": source or SOURCES["bigquery"], "digest": digest})
    _drop(store, "names")


def _json_path(path: tuple[str, ...], keys: str) -> str:
    if keys == "nested":
        return "$." + ".".join(path)
    return '$."' + keys.join(path) + '"'


def _bigquery_from_json(relation: str, keys: str, numbered: bool, malformed: str = "NULL",
                        parse: str = "json_extract_string(j, {paths})") -> str:
    """Standard BigQuery fields from a relation of ``j`` (a row as JSON text, and ``n`` when numbered); each row
    is parsed once for all paths."""
    paths: list[str] = []
    fields = []
    for name, candidates in BIGQUERY_FIELDS.items():
        first = len(paths) + 1
        paths.extend(_json_path(candidate, keys) for candidate in candidates)
        fields.append(f"coalesce({', '.join(f'v[{i}]' for i in range(first, len(paths) + 1))}) AS {name}")
    path_list = "[" + ", ".join(_sql_string(p) for p in paths) + "]"
    n = "n, " if numbered else ""
    return (f"(SELECT {n}{malformed} AS malformed, {', '.join(fields)} FROM "
            f"(SELECT {n}j, {parse.format(paths=path_list)} AS v FROM {relation}))")


# an empty or all-blank line; trim only runs on lines that start blank, as trimming every line costs a scan's time
NOT_BLANK = "line IS NOT NULL AND (left(line, 1) NOT IN (' ', chr(9), chr(13)) OR trim(line) <> '')"


def _bigquery_json_rows(path: Path, sniffed: Sniffed) -> Rows:
    """JSON lines, one row a line; ``n`` is the line number itself, as empty lines are numbered, then skipped."""
    def scan(numbered: bool, log_rejects: bool) -> str:
        lines = _numbered(_lines_scan(path, sniffed.compression, log_rejects=log_rejects), numbered)
        relation = f"(SELECT {'n, ' if numbered else ''}line AS j FROM {lines} WHERE {NOT_BLANK})"
        malformed = ("CASE WHEN v IS NULL THEN 'not valid JSON' "
                     "WHEN v[1] IS NULL AND json_type(j) <> 'OBJECT' THEN 'not a JSON object' END")
        return _bigquery_from_json(relation, sniffed.keys, numbered, malformed,
                                   "CASE WHEN json_valid(j) THEN json_extract_string(j, {paths}) END")

    return Rows(scan, 0)


def _bigquery_csv_rows(path: Path, sniffed: Sniffed) -> Rows:
    columns = _unique(tuple(name.replace(".", "_") for name in sniffed.header))
    if "timestamp" not in columns or not {"file_project", "project"} & set(columns):
        raise BadInput(f"{path} has no timestamp and file_project columns",
                       "export BigQuery rows with flattened names: timestamp, file_project, ...")
    return Rows(_bigquery_from_columns(columns, lambda numbered, log: _numbered(
        _csv_scan(path, columns, sniffed.compression, header=True, log_rejects=log), numbered)),
        1, _lines_scan(path, sniffed.compression, encoding="latin-1"))


def _bigquery_parquet_rows(store: Store, path: Path) -> Rows:
    scan = f"read_parquet({_sql_string(str(path))})"
    try:
        described = store.query(f"DESCRIBE SELECT * FROM {scan}")
    except duckdb.Error as exc:
        raise BadInput(f"{path} is not a readable Parquet file: {_first_line(exc)}", "export it again") from exc
    names = {row[0].lower(): row[0] for row in described}
    keys = _bigquery_keys(names)
    if keys is None:
        raise BadInput(f"{path} is Parquet without BigQuery's timestamp and file.project columns",
                       "export file_downloads with (at least) timestamp and file")
    if keys == "nested":  # to_json keeps whatever struct fields this export has; paths it lacks give NULL
        return Rows(lambda numbered, _log: _bigquery_from_json(
            _numbered(f"(SELECT to_json(t) AS j FROM {scan} t)", numbered), "nested", numbered), None)
    renamed = {name.replace(".", "_"): original for name, original in names.items()}
    selected = ", ".join(f"{_ident(original)}::VARCHAR AS {_ident(name)}" for name, original in renamed.items())
    return Rows(_bigquery_from_columns(tuple(renamed), lambda numbered, _log: _numbered(
        f"(SELECT {selected} FROM {scan})", numbered)), None)


def _bigquery_from_columns(columns: tuple[str, ...],
                           scan: Callable[[bool, bool], str]) -> Callable[[bool, bool], str]:
    """Standard BigQuery fields from a scan with flattened ``_`` column names."""
    present = set(columns)
    fields = []
    for name, candidates in BIGQUERY_FIELDS.items():
        refs = [f"r.{_ident('_'.join(c))}" for c in candidates if "_".join(c) in present]
        fields.append(f"{'coalesce(' + ', '.join(refs) + ')' if refs else 'NULL'} AS {name}")
    return lambda numbered, log: (f"(SELECT {'r.n, ' if numbered else ''}NULL AS malformed, {', '.join(fields)} "
                                  f"FROM {scan(numbered, log)} r)")


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, i = name, 1
        while candidate in seen:
            candidate, i = f"{name}_{i}", i + 1
        seen.add(candidate)
        unique.append(candidate)
    return tuple(unique)


# --- pypistats.org -------------------------------------------------------------------------------------------

PYPISTATS_CHECKED = """(SELECT *, try_cast(date AS DATE) AS day, {count} AS count,
        CASE WHEN shape <> 'OBJECT' THEN 'data[' || (n - 1) || '] is not an object'
             WHEN try_strptime(date, '%Y-%m-%d') IS NULL
                 THEN 'data[' || (n - 1) || ']: date ''' || coalesce(date, '') || ''' is not YYYY-MM-DD'
             WHEN {count} IS NULL
                 THEN 'data[' || (n - 1) || ']: downloads ''' || coalesce(downloads, '') || ''' is not a whole number'
             WHEN category IS NULL THEN 'data[' || (n - 1) || ']: no category'
             WHEN {overall} AND category NOT IN ('with_mirrors', 'without_mirrors')
                 THEN 'data[' || (n - 1) || ']: category ''' || category || ''' is not with_mirrors or without_mirrors'
        END AS reason
    FROM (SELECT row_number() OVER () AS n, e->>'category' AS category, e->>'date' AS date,
                 e->>'downloads' AS downloads, json_type(e) AS shape
          FROM (SELECT unnest(json_extract(json, '$.data[*]')) AS e FROM {scan})))"""


def ingest_pypistats(store: Store, path: Path, digest: str, report: IngestReport, source: str | None) -> None:
    """One pypistats.org API response (``overall``, ``python_major``, ``python_minor`` or ``system``) as daily
    counts.

    ``overall`` keeps only the ``without_mirrors`` series as the day's total. ``with_mirrors`` is not a separate
    slice but the same downloads plus those of mirroring tools (bandersnatch, devpi, Artifactory, ...): storing
    both series would count every download twice, and the mirrors' own fetches are not users' installs.
    ``without_mirrors`` is also the population the python and system series are counted over, so a
    ``--split`` adds up to the total.

    pypistats answers with the last 180 days, so two responses fetched on different days overlap: the newer
    response replaces the stored counts of an earlier pypistats response for the same package, breakdown and
    day (``report.replaced``) instead of adding to them. python_major and python_minor share the ``python``
    breakdown, so the last one ingested wins for the days it covers.
    """
    sniffed = sniff(path)
    scan = (f"read_json_objects({_sql_string(str(path))}, format = 'unstructured', "
            f"compression = '{sniffed.compression}')")
    document = _pypistats_document(path, store.query(f"SELECT json FROM {scan} LIMIT 2"))
    package = canonical_name(document["package"]) if isinstance(document["package"], str) else None
    if package is None:
        raise BadInput(f"{path}: package {document['package']!r} is not a valid project name",
                       "give a response for one package (not __all__)")
    breakdown = PYPISTATS_TYPES[document["type"]]
    connection = store.connection
    checked = PYPISTATS_CHECKED.format(count=_whole_number("downloads"), overall=breakdown == "total", scan=scan)
    (count,) = connection.execute(f"SELECT count(*) FROM {checked} WHERE reason IS NOT NULL").fetchone()
    report.rejected += int(count)
    _add_examples(report, [Rejected(None, reason) for _n, reason in _first_bad_rows(store, checked)])
    value = "CASE WHEN c.category = 'null' THEN NULL ELSE c.category END"
    python = value if breakdown == "python" else "NULL"
    os_name = value if breakdown == "os" else "NULL"
    wanted = f"{checked} c WHERE c.reason IS NULL" + (" AND c.category = 'without_mirrors'"
                                                      if breakdown == "total" else "")
    params = {"source": source or SOURCES["pypistats"], "package": package, "breakdown": breakdown}
    (report.replaced,) = connection.execute(f"""
        DELETE FROM download_counts WHERE source = $source AND package = $package AND breakdown = $breakdown
          AND day IN (SELECT c.day FROM {wanted})
          AND file_sha256 IN (SELECT sha256 FROM ingested_files WHERE format = 'pypistats')
    """, params).fetchone()
    (report.rows,) = connection.execute(f"""
        INSERT INTO download_counts
        SELECT $source, c.day, $package, $breakdown, NULL, {python}, {os_name}, NULL, NULL, c.count, $digest
        FROM {wanted}
    """, {**params, "digest": digest}).fetchone()


def _pypistats_document(path: Path, documents: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The one response in a pypistats file, checked for shape; BadInput says what is wrong."""
    if len(documents) != 1:
        raise BadInput(f"{path} holds {len(documents) or 'no'} JSON documents, not one pypistats response",
                       "save each API response in its own file")
    document = json.loads(documents[0][0])
    expected = 'expected {"data": [...], "package": ..., "type": ...}'
    if not isinstance(document, dict):
        raise BadInput(f"{path} is not a pypistats response (not a JSON object)", expected)
    missing = [key for key in ("data", "package", "type") if key not in document]
    if missing:
        raise BadInput(f"{path} is not a pypistats response: no {', '.join(repr(k) for k in missing)}", expected)
    if document["type"] not in PYPISTATS_TYPES:
        raise BadInput(f"{path}: pypistats response type {document['type']!r} has no daily series",
                       "save the overall, python_major, python_minor or system endpoint")
    if not isinstance(document["data"], list):
        raise BadInput(f"{path}: pypistats 'data' is not a list", "save the API response unchanged")
    return document


# --- plain daily counts --------------------------------------------------------------------------------------

COUNTS_CHECKED = """(SELECT r.*, names.package AS canonical,
        CASE WHEN try_strptime(r.date, '%Y-%m-%d') IS NULL THEN concat('date ''', r.date, ''' is not YYYY-MM-DD')
             WHEN names.package IS NULL THEN concat('package ''', r.package, ''' is not a valid name')
             WHEN {count} IS NULL THEN concat('downloads ''', r.downloads, ''' is not a whole number')
        END AS reason
    FROM {scan} r LEFT JOIN names ON names.raw = r.package)"""


def ingest_counts(store: Store, path: Path, digest: str, report: IngestReport, source: str | None) -> None:
    """``date,package,downloads`` plus optional ``python``, ``platform``, ``version``: daily counts of anything.

    Each row is a disjoint slice of a day's downloads, so the rows of a day add up to its total.
    """
    sniffed = sniff(path)
    columns = sniffed.header
    unknown = [c for c in columns if c not in COUNTS_REQUIRED + COUNTS_OPTIONAL]
    twice = [c for c in columns if columns.count(c) > 1]
    if unknown or twice or not set(COUNTS_REQUIRED) <= set(columns):
        problem = (f"unknown column {unknown[0]!r}" if unknown else f"column {twice[0]!r} twice" if twice
                   else "missing columns")
        raise BadInput(f"{path}: {problem} in a counts file",
                       f"columns are {', '.join(COUNTS_REQUIRED)} and optionally {', '.join(COUNTS_OPTIONAL)}")
    rows = Rows(lambda numbered, log: _numbered(_csv_scan(path, columns, sniffed.compression, header=True,
                                                          log_rejects=log), numbered),
                1, _lines_scan(path, sniffed.compression, encoding="latin-1"))
    optional = {c: (f"nullif(c.{_ident(c)}, '')" if c in columns else "NULL") for c in COUNTS_OPTIONAL}
    insert = f"""
        INSERT INTO download_counts
        SELECT $source, try_cast(c.date AS DATE), c.canonical, 'total', {optional['version']}, {optional['python']},
               {optional['platform']}, NULL, NULL, {_whole_number("c.downloads")}, $digest
        FROM {{checked}} c WHERE c.reason IS NULL"""
    _ingest_rows(store, report, rows, keys=lambda scan: canonical_names(store.connection, scan, "package"),
                 checked=lambda scan: COUNTS_CHECKED.format(count=_whole_number("r.downloads"), scan=scan),
                 insert=insert, params={"source": source or SOURCES["counts"], "digest": digest})
    _drop(store, "names")


# --- release metadata (BigQuery distribution_metadata) -----------------------------------------------------------

# ``requires_dist`` arrives as JSON text from every layout (a JSON-lines array, a CSV cell holding a JSON array,
# a Parquet LIST written out with to_json); it is checked here and stored as VARCHAR[].
RELEASES_CHECKED = """(SELECT r.*, names.package,
        CASE WHEN r.malformed IS NOT NULL THEN r.malformed
             WHEN r.name IS NULL THEN 'no name'
             WHEN names.package IS NULL THEN concat('name ''', r.name, ''' is not a valid project name')
             WHEN r.version IS NULL THEN 'no version'
             WHEN r.upload_time IS NULL THEN 'no upload_time'
             WHEN r.at IS NULL THEN concat('upload_time ''', r.upload_time, ''' is not a time')
             WHEN r.requires_dist IS NOT NULL AND coalesce(r.rd_type, '') NOT IN ('ARRAY', 'NULL')
                 THEN concat('requires_dist ''', left(r.requires_dist, 60), ''' is not a JSON array')
             WHEN len(list_filter(r.rd_items, lambda e: json_type(e) <> 'VARCHAR')) > 0
                 THEN 'requires_dist holds something other than strings'
        END AS reason
    FROM (SELECT *, CASE WHEN rd_type = 'ARRAY' THEN json_extract(requires_dist, '$[*]') END AS rd_items
          FROM (SELECT *, {at} AS at, CASE WHEN json_valid(requires_dist) THEN json_type(requires_dist) END AS rd_type
                FROM {scan})) r
    LEFT JOIN names ON names.raw = r.name)"""

RELEASE_KEY = ("c.package", "c.version", "c.at", "c.packagetype", "c.filename")

RELEASES_INSERT = """
    INSERT INTO releases
    SELECT DISTINCT ON ({key}) $source, c.package, c.name, c.version, c.at,
           CASE WHEN c.rd_type = 'ARRAY' THEN json_extract_string(c.requires_dist, '$[*]') END,
           c.requires_python, c.packagetype, c.filename, $digest
    FROM {{checked}} c
    WHERE c.reason IS NULL AND NOT EXISTS (
        SELECT 1 FROM releases s WHERE s.source = $source AND s.name = c.package AND s.version = c.version
          AND s.upload_time = c.at AND s.packagetype IS NOT DISTINCT FROM c.packagetype
          AND s.filename IS NOT DISTINCT FROM c.filename)"""


def ingest_releases(store: Store, path: Path, digest: str, report: IngestReport, source: str | None) -> None:
    """Rows of PyPI's ``bigquery-public-data.pypi.distribution_metadata``: one uploaded file each, so a wheel and
    an sdist of one version are two rows.

    Kept: ``name`` (stored in its PEP 503 form, and as given in ``display_name``), ``version``, ``upload_time``
    (BigQuery's ``2020-03-04 11:46:08.169385 UTC``, ISO 8601, or a Parquet timestamp; UTC when it has no zone),
    ``requires_dist`` (the PEP 508 strings as given), ``requires_python``, ``packagetype`` and ``filename``; other
    columns (description, classifiers, ...) are ignored. BigQuery cannot export a REPEATED column as CSV, so a CSV
    cell of ``requires_dist`` must hold a JSON array (``TO_JSON_STRING(requires_dist)``); JSON lines hold the array
    itself and Parquet a LIST. A row without a name, version or upload time is rejected. A file already stored
    (same source, name, version, upload time, package type and filename), from another export or twice in this
    one, is counted in ``report.duplicates`` and not stored again.
    """
    rows = _release_rows(path)
    connection = store.connection
    params = {"source": source or SOURCES["releases"], "digest": digest}

    def checked(scan: str) -> str:
        return RELEASES_CHECKED.format(at=_timestamp("upload_time"), scan=scan)

    _ingest_rows(store, report, rows, keys=lambda scan: canonical_names(connection, scan, "name"),
                 checked=checked, insert=RELEASES_INSERT.format(key=", ".join(RELEASE_KEY)), params=params)
    (good,) = connection.execute(f"SELECT count(*) FROM {checked(rows.scan(False, False))} c "
                                 "WHERE c.reason IS NULL").fetchone()
    report.duplicates = int(good) - report.rows
    _drop(store, "names")


def _release_rows(path: Path) -> Rows:
    sniffed = sniff(path)
    if sniffed.layout == "jsonl":
        return _release_json_rows(path, sniffed)
    if sniffed.layout == "csv":
        return _release_csv_rows(path, sniffed)
    if sniffed.layout == "parquet":
        return _release_parquet_rows(path)
    raise BadInput(f"{path} is not release metadata as JSON lines, CSV or Parquet", "export distribution_metadata "
                   "again")


def _release_fields(refs: dict[str, str], malformed: str = "NULL", numbered: bool = False) -> str:
    """The select list of a release scan: ``n`` when numbered, ``malformed``, then every field of
    ``RELEASE_FIELDS`` as trimmed text (NULL when absent or blank), from the SQL expressions in ``refs``."""
    fields = [f"nullif(trim({refs[name]}), '') AS {name}" if name in refs else f"NULL::VARCHAR AS {name}"
              for name in RELEASE_FIELDS]
    return ", ".join([*(["n"] if numbered else []), f"{malformed} AS malformed", *fields])


def _release_json_rows(path: Path, sniffed: Sniffed) -> Rows:
    """JSON lines, one row a line, each parsed once; ``n`` is the line number (empty lines are numbered too)."""
    paths = "[" + ", ".join(_sql_string(f"$.{name}") for name in RELEASE_FIELDS) + "]"
    refs = {name: f"v[{i}]->>'$'" for i, name in enumerate(RELEASE_FIELDS, 1)}
    refs["requires_dist"] = f"v[{RELEASE_FIELDS.index('requires_dist') + 1}]::VARCHAR"
    malformed = "CASE WHEN v IS NULL THEN 'not valid JSON' WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object' END"

    def scan(numbered: bool, log_rejects: bool) -> str:
        lines = _numbered(_lines_scan(path, sniffed.compression, log_rejects=log_rejects), numbered)
        n = "n, " if numbered else ""
        parsed = (f"(SELECT {n}line AS j, CASE WHEN json_valid(line) THEN json_extract(line, {paths}) END AS v "
                  f"FROM {lines} WHERE {NOT_BLANK})")
        return f"(SELECT {_release_fields(refs, malformed, numbered)} FROM {parsed})"

    return Rows(scan, 0)


def _release_csv_rows(path: Path, sniffed: Sniffed) -> Rows:
    columns = _unique(sniffed.header)
    missing = [name for name in RELEASE_REQUIRED if name not in columns]
    if missing:
        raise BadInput(f"{path} has no {', '.join(missing)} column", "export distribution_metadata with "
                       f"{', '.join(RELEASE_REQUIRED)} and TO_JSON_STRING(requires_dist) AS requires_dist")
    refs = {name: f"r.{_ident(name)}" for name in RELEASE_FIELDS if name in columns}

    def scan(numbered: bool, log_rejects: bool) -> str:
        rows = _numbered(_csv_scan(path, columns, sniffed.compression, header=True, log_rejects=log_rejects),
                         numbered)
        return f"(SELECT {_release_fields(refs, numbered=numbered)} FROM {rows} r)"

    return Rows(scan, 1, _lines_scan(path, sniffed.compression, encoding="latin-1"))


def _release_parquet_rows(path: Path) -> Rows:
    """Parquet as BigQuery exports it: ``requires_dist`` a LIST (or a JSON string), ``upload_time`` a timestamp."""
    columns = _parquet_columns(path)
    missing = [name for name in RELEASE_REQUIRED if name not in columns]
    if missing:
        raise BadInput(f"{path} is Parquet without release metadata's {', '.join(missing)} column",
                       f"export distribution_metadata with (at least) {', '.join(RELEASE_REQUIRED)}")
    refs = {}
    for name in RELEASE_FIELDS:
        if name in columns:
            original, kind = columns[name]
            as_json = name == "requires_dist" and kind not in ("VARCHAR", "JSON")
            refs[name] = f"to_json(r.{_ident(original)})::VARCHAR" if as_json else f"r.{_ident(original)}::VARCHAR"
    scan = f"read_parquet({_sql_string(str(path))})"
    return Rows(lambda numbered, _log: f"(SELECT {_release_fields(refs, numbered=numbered)} "
                                       f"FROM {_numbered(scan, numbered)} r)", None)


Reader = Callable[[Store, Path, str, IngestReport, str | None], None]

READERS: dict[str, Reader] = {
    "piwheels": ingest_piwheels,
    "bigquery": ingest_bigquery,
    "pypistats": ingest_pypistats,
    "counts": ingest_counts,
    "releases": ingest_releases,
}


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
            raise StoreError(f"{path}: {_first_line(exc)}", "the store is unchanged for this file") from exc
    return reports
