"""Storing per-download rows (piwheels, BigQuery file_downloads) as narrow events, reading the file once.

One statement streams every row the reader yields into ``download_events``, with its time, file key, user-agent
key and client hash computed row by row: no join, no second pass over the file. The keys are strings (a piwheels
filename; the user-agent fields joined by U+001F), so the few thousand distinct ones are then read back from the
stored column, parsed once each (filenames with ``packaging``), and the valid ones added to ``download_files``
and ``download_agents``. A row whose time, file or user agent cannot be read is refused: counted, and hidden by
the ``downloads`` view (no time, or a key with no lookup row). It is deleted by ``sweep_refused`` just after the
ingest's transaction commits, in a transaction of its own: deleting a few of the rows a transaction has just
written makes its commit rewrite them all (1.3 s more on 3 M rows), deleting them once committed costs 0.1 s.
Only when there are refused rows is the file scanned again, numbered, to name the first few by line, and that
scan stops at the last one it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from depgraph.downloads.formats.scan import (
    SHOWN_REJECTS,
    IngestReport,
    Rows,
    collect_reader_rejects,
    drop_tables,
    locate_examples,
    major_minor_sql,
    start_skipped,
)
from depgraph.downloads.store import Store, ingest_id

SEPARATOR = "chr(31)"  # U+001F, the unit separator, between the fields of a key
# the user-agent fields of an event, in the order its key joins them (download_agents' columns but python)
AGENT_FIELDS = ("python_full", "implementation", "arch", "os", "distro", "distro_version", "installer",
                "installer_version")
# temp: the file keys this ingest introduced (file, package, version, file_kind, filename, reason)
NEW_FILES = "event_files"
NEW_AGENTS = "event_agents"  # temp: user-agent keys this ingest introduced, split, with a reason when unreadable
AGENT_REASON = "a user-agent field holds the control character U+001F"


def joined_key(*fields: str) -> str:
    """SQL joining field expressions with U+001F (``concat`` reads NULL as empty, so NULL and '' share a key)."""
    return "concat(" + f", {SEPARATOR}, ".join(fields) + ")"


def agent_key(fields: dict[str, str]) -> str:
    """SQL for a row's user-agent key from SQL for each of ``AGENT_FIELDS``."""
    return joined_key(*(fields[name] for name in AGENT_FIELDS))


@dataclass(frozen=True)
class Events:
    """How a reader's rows become events.

    ``ts``, ``file``, ``agent`` and ``client`` are SQL over one row ``r`` of the reader's scan (``ts`` NULL when
    the time cannot be read; ``client`` a UBIGINT or NULL, and the only one that may use the insert's
    parameters). ``new_files(store, relation)`` fills ``event_files`` from a relation of new file keys
    (``file``), with a ``reason`` for a key that names no valid file.
    ``reason`` is SQL giving why a row of the scan is refused (NULL for a good row), over ``r`` (the scan with its
    ``at``, ``file_key`` and ``agent_key``), ``k`` (its row of ``event_files``: keys this ingest met first, a
    refused one among them since refused keys are never stored) and ``a`` (of ``event_agents``).
    """

    ts: str
    file: str
    agent: str
    client: str
    new_files: Callable[[Store, str], None]
    reason: str


def ingest_events(store: Store, report: IngestReport, rows: Rows, events: Events, digest: str,
                  params: dict[str, Any] | None = None) -> None:
    """Store the rows of ``rows`` as events of the ingested file ``digest`` (already in ``ingested_files``)."""
    connection = store.connection
    values = {**(params or {}), "ingest": ingest_id(store, digest)}
    start_skipped(store)
    (yielded,) = connection.execute(
        f"INSERT INTO download_events SELECT {events.ts}, {events.file}, {events.agent}, {events.client}, $ingest "
        f"FROM {rows.scan(False, True)} r", values).fetchone()
    collect_reader_rejects(store, report)
    mine = f"(SELECT * FROM download_events WHERE ingest = {values['ingest']})"
    events.new_files(store, f"(SELECT DISTINCT e.file FROM {mine} e ANTI JOIN download_files USING (file) "
                            "WHERE e.file IS NOT NULL)")
    _new_agents(store, f"(SELECT DISTINCT e.agent FROM {mine} e ANTI JOIN download_agents USING (agent))")
    connection.execute(f"INSERT INTO download_files SELECT file, package, version, file_kind, filename "
                       f"FROM {NEW_FILES} WHERE reason IS NULL")
    connection.execute(f"INSERT INTO download_agents SELECT * EXCLUDE (reason) FROM {NEW_AGENTS} "
                       "WHERE reason IS NULL")
    refused = _refused(store, mine)
    report.rejected += refused
    report.rows = int(yielded) - refused
    if refused:
        locate_examples(store, report, rows, _first_refused(store, rows, events, params or {}))
    drop_tables(store, NEW_FILES, NEW_AGENTS, "skipped_lines")


def sweep_refused(store: Store, digest: str) -> None:
    """Delete the rows the ingest of ``digest`` refused (which the ``downloads`` view already hides), in a
    transaction of its own once the ingest's has committed; a crash before leaves them hidden, not counted.

    The few keys with no lookup row are found first (from the distinct keys, as the ingest found them): a join of
    every row with the lookup tables would cost as much as the ingest itself."""
    connection = store.connection
    ingest = ingest_id(store, digest)
    mine = f"(SELECT * FROM download_events WHERE ingest = {ingest})"
    files = [row[0] for row in connection.execute(
        f"SELECT file FROM (SELECT DISTINCT file FROM {mine}) ANTI JOIN download_files USING (file)").fetchall()]
    agents = [row[0] for row in connection.execute(
        f"SELECT agent FROM (SELECT DISTINCT agent FROM {mine}) ANTI JOIN download_agents USING (agent)").fetchall()]
    connection.execute("BEGIN")
    try:
        connection.execute(f"DELETE FROM download_events WHERE ingest = {ingest} AND (ts IS NULL OR file IS NULL "
                           "OR file IN (SELECT unnest($files)) OR agent IN (SELECT unnest($agents)))",
                           {"files": files, "agents": agents})
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _new_agents(store: Store, relation: str) -> None:
    """``event_agents``: the new user-agent keys split into their fields (empty as NULL), python as major.minor."""
    parts = ", ".join(f"nullif(p[{i}], '') AS {name}" for i, name in enumerate(AGENT_FIELDS, 1))
    store.connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE {NEW_AGENTS} AS
        SELECT agent, {major_minor_sql("python_full")} AS python, * EXCLUDE (agent, n),
               CASE WHEN n <> {len(AGENT_FIELDS)} THEN '{AGENT_REASON}' END AS reason
        FROM (SELECT agent, len(p) AS n, {parts}
              FROM (SELECT agent, string_split(agent, {SEPARATOR}) AS p FROM {relation}))""")


def _refused(store: Store, events: str) -> int:
    """How many of ``events`` (this ingest's) are refused: no time, or a key with no lookup row."""
    (count,) = store.connection.execute(f"""
        SELECT count(*) FROM {events} e
        LEFT JOIN download_files f USING (file) LEFT JOIN download_agents a USING (agent)
        WHERE e.ts IS NULL OR f.file IS NULL OR a.agent IS NULL""").fetchone()
    return int(count)


def _first_refused(store: Store, rows: Rows, events: Events, params: dict[str, Any]) -> list[tuple[int, str]]:
    """The first few refused rows (row number, reason), found again in a numbered scan that stops at the last.

    The scan computes every event column, so that it reads the same columns of the file as the insert did, and
    the reader drops the same unreadable rows (DuckDB checks a value's encoding only in the columns read)."""
    scan = (f"(SELECT *, {events.ts} AS at, {events.file} AS file_key, {events.agent} AS agent_key, "
            f"{events.client} AS client_key FROM {rows.scan(True, False)} r)")
    checked = (f"(SELECT r.n, {events.reason} AS reason FROM {scan} r LEFT JOIN {NEW_FILES} k "
               f"ON k.file = r.file_key LEFT JOIN {NEW_AGENTS} a ON a.agent = r.agent_key)")
    connection = store.connection
    # with no row estimate for a file scan, DuckDB would build the join's hash table on the file, not the keys
    connection.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        found = connection.execute(f"SELECT n, reason FROM {checked} WHERE reason IS NOT NULL "
                                   f"LIMIT {SHOWN_REJECTS}", params).fetchall()
    finally:
        connection.execute("RESET disabled_optimizers")
    return sorted((int(n), reason) for n, reason in found)
