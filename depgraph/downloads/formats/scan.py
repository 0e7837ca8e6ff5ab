"""What every reader shares: the report of one file, SQL that scans a file inside DuckDB without holding it in
memory, and the bookkeeping that turns rejected rows into line numbers and reasons."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from depgraph.downloads.store import Store

SHOWN_REJECTS = 5
SMALL_BUFFER = 1 << 21
LINE_DELIMITER = "\x1f"  # a control character that valid JSON text never holds unescaped: one column per line
# an empty or all-blank line; trim only runs on lines that start blank, as trimming every line costs a scan's time
NOT_BLANK = "line IS NOT NULL AND (left(line, 1) NOT IN (' ', chr(9), chr(13)) OR trim(line) <> '')"
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


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def csv_scan(path: Path, columns: tuple[str, ...], compression: str, *, header: bool, log_rejects: bool,
             read: tuple[str, ...] | None = None, numbered: bool = False) -> str:
    """A strict CSV scan with every column VARCHAR; bad rows are skipped and, with ``log_rejects``, logged.

    DuckDB checks a value's encoding only when the query reads its column, so a query reading fewer columns
    would keep a row that another drops. Without ``read``, a filter on all the columns makes every scan drop the
    same rows; with it, the scan yields only those columns and every query over it must read them all (cheaper
    than hashing every column of every row, which costs a third of a scan). ``numbered``: a scan that looks for
    the first few rows only, which reads in small buffers so that it stops soon after them.
    """
    spec = ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in columns)
    errors = "store_rejects = true" if log_rejects else "ignore_errors = true"
    scan = (f"read_csv({sql_string(str(path))}, header = {str(header).lower()}, "
            f"columns = {{{spec}}}, {errors}, null_padding = false, strict_mode = true, quote = '\"', escape = '\"', "
            f"auto_detect = false, delim = ',', compression = '{compression}'{_buffer(numbered)})")
    if read is not None:
        return f"(SELECT {', '.join(ident(c) for c in read)} FROM {scan})"
    every_column = ", ".join(ident(c) for c in columns)
    return f"(SELECT * FROM {scan} WHERE hash({every_column}) IS NOT NULL)"


def lines_scan(path: Path, compression: str, *, encoding: str = "utf-8", log_rejects: bool = False,
               numbered: bool = False) -> str:
    """Every line of a text file as one VARCHAR ``line`` (NULL for an empty line), in file order."""
    errors = ", store_rejects = true" if log_rejects else ", ignore_errors = true"
    return (f"read_csv({sql_string(str(path))}, header = false, columns = {{'line': 'VARCHAR'}}, "
            f"delim = '{LINE_DELIMITER}', quote = '', escape = '', auto_detect = false, strict_mode = false, "
            f"encoding = '{encoding}', compression = '{compression}'{errors}{_buffer(numbered)})")


def _buffer(small: bool) -> str:
    """A read_csv option: small buffers (DuckDB's longest line, 2 MiB) for a scan that stops after a few rows,
    which would otherwise decompress and parse 16 times that before its LIMIT is seen."""
    return f", buffer_size = {SMALL_BUFFER}" if small else ""


def numbered_scan(scan: str, numbered: bool = True) -> str:
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
    blank_lines: BlankLines | None = None


def ingest_rows(store: Store, report: IngestReport, rows: Rows, *, keys: Callable[[str], None],
                 checked: Callable[[str], str], insert: str, params: dict[str, Any]) -> None:
    """The scans every log reader makes, none of which holds the file in memory.

    ``keys`` reads the distinct names (or filenames) and parses each once; then the bad rows are counted and the
    first few located; then ``insert`` (SQL over ``{checked}``: the rows with a ``reason``, NULL for a good row)
    stores the good ones.
    """
    start_skipped(store)
    keys(rows.scan(False, True))
    collect_reader_rejects(store, report)
    # with no row estimate for a file scan, DuckDB would build its join's hash table on the whole file rather
    # than on the small table of parsed names: memory would grow with the file
    store.connection.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        _report_bad_rows(store, report, rows, checked)
        (report.rows,) = store.connection.execute(insert.format(checked=checked(rows.scan(False, False))),
                                                  params).fetchone()
    finally:
        store.connection.execute("RESET disabled_optimizers")
    drop_tables(store, "skipped_lines")


def start_skipped(store: Store) -> None:
    """``skipped_lines``: lines the reader dropped (rejected or blank), to turn row numbers into line numbers."""
    store.connection.execute("CREATE OR REPLACE TEMP TABLE skipped_lines (line BIGINT)")


def collect_reader_rejects(store: Store, report: IngestReport) -> None:
    """Move DuckDB's reject log (rows its CSV reader could not read) into the report and ``skipped_lines``."""
    connection = store.connection
    if not store.query("SELECT 1 FROM duckdb_tables() WHERE table_name = 'reject_errors' AND temporary"):
        return
    connection.execute("INSERT INTO skipped_lines SELECT DISTINCT line FROM reject_errors")
    (count,) = connection.execute("SELECT count(DISTINCT line) FROM reject_errors").fetchone()
    report.rejected += int(count)
    examples = connection.execute("SELECT line, min(error_message) FROM reject_errors GROUP BY line ORDER BY line "
                                  f"LIMIT {SHOWN_REJECTS}").fetchall()
    add_examples(report, [Rejected(int(line), (reason or "unreadable").splitlines()[0]) for line, reason in examples])
    connection.execute("DELETE FROM reject_errors; DELETE FROM reject_scans")


def add_examples(report: IngestReport, examples: list[Rejected]) -> None:
    merged = [*report.examples, *examples]
    report.examples = sorted(merged, key=lambda r: (r.line is None, r.line or 0))[:SHOWN_REJECTS]


def first_bad_rows(store: Store, checked: str) -> list[tuple[int, str]]:
    """The first few rows of ``checked`` (numbered, in file order) that have a ``reason``, as (row number, reason).

    No ORDER BY: DuckDB keeps a scan's order up to a LIMIT, so the query stops at the last row it needs instead of
    reading the whole file to sort it."""
    rows = store.connection.execute(
        f"SELECT n, reason FROM {checked} WHERE reason IS NOT NULL LIMIT {SHOWN_REJECTS}").fetchall()
    return sorted((int(n), reason) for n, reason in rows)


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
    if count:
        locate_examples(store, report, rows, first_bad_rows(store, checked(rows.scan(True, False))))


def locate_examples(store: Store, report: IngestReport, rows: Rows, first: list[tuple[int, str]]) -> None:
    """Add the first bad rows (row number, reason) to the report by line, or by row where the format has none."""
    if not first:
        return
    if rows.header is None:
        add_examples(report, [Rejected(None, f"row {n}: {reason}") for n, reason in first])
        return
    if rows.blank_lines:
        _skip_blank_lines(store, rows.blank_lines, rows.header, max(n for n, _ in first))
    add_examples(report, [Rejected(_line_of(store, n, rows.header), reason) for n, reason in first])


@dataclass(frozen=True)
class BlankLines:
    """Where a reader's file is (plain or gzip), to find its empty lines, which the CSV reader skips silently."""

    path: Path
    compression: str


def _skip_blank_lines(store: Store, blank: BlankLines, header: int, last_row: int) -> None:
    """Note the empty lines up to the line of row ``last_row``, and no further: the file is read as bytes (any
    encoding) up to that line, first guessed with no empty line before it, then pushed by those found."""
    (skipped,) = store.connection.execute("SELECT count(DISTINCT line) FROM skipped_lines").fetchone()
    bound = header + last_row + int(skipped)
    found: list[int] = []
    for number, empty in _lines(blank):
        if number > bound:
            bound = _line_after(store, found, header, last_row)
            found = []
            if number > bound:
                return
        if empty:
            found.append(number)
    _line_after(store, found, header, last_row)


def _line_after(store: Store, empty: list[int], header: int, last_row: int) -> int:
    """Note ``empty`` lines as skipped; the line of row ``last_row`` as far as the skipped lines now tell."""
    if empty:
        store.connection.execute("INSERT INTO skipped_lines SELECT unnest($1)", [empty])
    return _line_of(store, last_row, header)


def _lines(blank: BlankLines) -> Iterator[tuple[int, bool]]:
    """(number, whether it is empty) for each line of the file, ``\\r`` aside."""
    opener: Callable[..., Any] = gzip.open if blank.compression == "gzip" else open
    with opener(blank.path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            yield number, not line.strip(b"\r\n")


def drop_tables(store: Store, *tables: str) -> None:
    for table in tables:
        store.connection.execute(f"DROP TABLE IF EXISTS {table}")


def timestamp_sql(expression: str) -> str:
    """SQL turning a time string into a UTC TIMESTAMP (NULL when it is not one); a time without a zone is UTC.

    Accepts BigQuery's ``2020-03-05 14:02:11.123456 UTC``, linehaul's ``2021-01-07 20:54:54 +00:00``, ISO 8601
    and piwheels' plain ``2020-03-05 14:02:11``; the session time zone is UTC while ingesting.
    """
    general = (f"try_cast(regexp_replace(trim({expression}), '\\s+([+-]\\d\\d(:?\\d\\d)?)$', '\\1') "
               "AS TIMESTAMPTZ)::TIMESTAMP")
    # the plain forms first: strptime is several times cheaper than the regular expression and the zone cast
    return (f"coalesce(try_strptime({expression}, '%Y-%m-%d %H:%M:%S'), "
            f"try_strptime({expression}, '%Y-%m-%d %H:%M:%S.%f'), {general})")


def whole_number_sql(expression: str) -> str:
    """SQL for a count written as digits (``12``, not ``12.5`` or ``-1``) as BIGINT, else NULL."""
    return f"CASE WHEN regexp_full_match(trim({expression}), '[0-9]+') THEN try_cast(trim({expression}) AS BIGINT) END"


def major_minor_sql(expression: str) -> str:
    """SQL for the ``major.minor`` prefix of a Python version string such as ``2.7.16``, else NULL."""
    return f"nullif(regexp_extract({expression}, '^(\\d+\\.\\d+)', 1), '')"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unique_names(names: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, i = name, 1
        while candidate in seen:
            candidate, i = f"{name}_{i}", i + 1
        seen.add(candidate)
        unique.append(candidate)
    return tuple(unique)
