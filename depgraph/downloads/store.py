"""The download store: one DuckDB file with per-event rows, per-period counts and release metadata.

A file that is not a depgraph store is refused, never overwritten; an older schema is migrated in place.

Events are narrow (``download_events``: time, file key, user-agent key, client hash, ingested file) because
writing them is most of an ingest's time; what a file is (package, version, kind, filename) and who asked for it
(Python, platform, installer) live once per distinct value in ``download_files`` and ``download_agents``. The
view ``downloads`` joins them back into the one-row-per-download table every query reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from platformdirs import user_data_dir

from depgraph.errors import StoreError

DB_ENV = "DEPGRAPH_DB"
APPLICATION = "depgraph"
SCHEMA_VERSION = 4
MEMORY_LIMIT = "512MB"

BASE_TABLES = """
CREATE TABLE IF NOT EXISTS depgraph_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS ingested_files (
    sha256 VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, format VARCHAR NOT NULL, source VARCHAR NOT NULL,
    rows BIGINT NOT NULL, rejected BIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL,
    id INTEGER                        -- what download_events.ingest names (schema 3)
);
CREATE TABLE IF NOT EXISTS download_counts (
    source VARCHAR NOT NULL,
    day DATE NOT NULL,
    package VARCHAR NOT NULL,
    breakdown VARCHAR NOT NULL,       -- total: rows add up to the day's total; python | os: a pypistats split
    version VARCHAR,
    python VARCHAR,
    os VARCHAR,
    arch VARCHAR,
    installer VARCHAR,
    downloads BIGINT NOT NULL,
    file_sha256 VARCHAR NOT NULL
);
"""

# Schema 2: one row per uploaded file of a release, shaped like BigQuery's pypi.distribution_metadata.
RELEASES_TABLE = """
CREATE TABLE IF NOT EXISTS releases (
    source VARCHAR NOT NULL,          -- the index the metadata came from: pypi, ...
    name VARCHAR NOT NULL,            -- PEP 503 name
    display_name VARCHAR NOT NULL,    -- the name as the export spells it
    version VARCHAR NOT NULL,         -- as given (not normalised)
    upload_time TIMESTAMP NOT NULL,   -- UTC
    requires_dist VARCHAR[],          -- PEP 508 strings as given; NULL when the export did not say
    requires_python VARCHAR,
    packagetype VARCHAR,              -- bdist_wheel, sdist, ...
    filename VARCHAR,
    file_sha256 VARCHAR NOT NULL      -- the ingested file the row came from
);
"""

# Schema 3: narrow events and their lookup tables (keys are strings, so a reader computes them row by row with
# no join: a piwheels filename, or the BigQuery file fields joined by U+001F; see depgraph.downloads.formats.events)
EVENT_TABLES = """
CREATE TABLE IF NOT EXISTS download_files (
    file VARCHAR PRIMARY KEY,         -- the key events name the file by
    package VARCHAR NOT NULL,         -- PEP 503 name
    version VARCHAR,
    file_kind VARCHAR,                -- wheel | sdist | other
    filename VARCHAR
);
CREATE TABLE IF NOT EXISTS download_agents (
    agent VARCHAR PRIMARY KEY,        -- python_full .. installer_version joined by U+001F (NULL as empty)
    python VARCHAR,                   -- major.minor, e.g. 2.7
    python_full VARCHAR,
    implementation VARCHAR,
    arch VARCHAR,
    os VARCHAR,
    distro VARCHAR,
    distro_version VARCHAR,
    installer VARCHAR,
    installer_version VARCHAR
);
CREATE TABLE IF NOT EXISTS download_events (
    ts TIMESTAMP,                     -- UTC; NULL only for a row its ingest refused, until it deletes it
    file VARCHAR,                     -- download_files.file
    agent VARCHAR,                    -- download_agents.agent
    client UBIGINT,                   -- salted hash of the client address, never the address itself
    ingest INTEGER NOT NULL           -- ingested_files.id: the file the row came from (its source and sha256)
);
"""

# The table schema 1 and 2 stored, with the same columns and types. The rows an ingest refused (a NULL time, or a
# file or user-agent key with no lookup row) are left out here, for the moment between the ingest's commit and
# its deleting them (see depgraph.downloads.formats.events).
DOWNLOADS_VIEW = """
CREATE VIEW IF NOT EXISTS downloads AS
SELECT i.source, e.ts, f.package, f.version, f.file_kind, f.filename, a.python, a.python_full, a.implementation,
       a.arch, a.os, a.distro, a.distro_version, a.installer, a.installer_version,
       printf('%016x', e.client) AS client, i.sha256 AS file_sha256
FROM download_events e
JOIN download_files f ON f.file = e.file
JOIN download_agents a ON a.agent = e.agent
JOIN ingested_files i ON i.id = e.ingest
WHERE e.ts IS NOT NULL;
"""

# a schema-2 downloads row's keys: its file (prefixed, so it is never taken for a piwheels filename or a BigQuery
# key) and its user agent, as ingest writes them
OLD_FILE_KEY = ("concat('v2', chr(31), package, chr(31), version, chr(31), file_kind, chr(31), filename)")
OLD_AGENT_KEY = ("concat(python_full, chr(31), implementation, chr(31), arch, chr(31), os, chr(31), distro, "
                 "chr(31), distro_version, chr(31), installer, chr(31), installer_version)")

TO_EVENTS = f"""
ALTER TABLE ingested_files ADD COLUMN id INTEGER;
UPDATE ingested_files SET id = numbered.n
FROM (SELECT sha256, row_number() OVER (ORDER BY ingested_at, sha256) AS n FROM ingested_files) numbered
WHERE ingested_files.sha256 = numbered.sha256;
{EVENT_TABLES}
INSERT INTO download_files
SELECT DISTINCT ON (file) {OLD_FILE_KEY} AS file, package, version, file_kind, filename FROM downloads;
INSERT INTO download_agents
SELECT DISTINCT ON (agent) {OLD_AGENT_KEY} AS agent, python, python_full, implementation, arch, os, distro,
       distro_version, installer, installer_version
FROM downloads;
INSERT INTO download_events
SELECT d.ts, {OLD_FILE_KEY}, {OLD_AGENT_KEY}, try_cast('0x' || d.client AS UBIGINT), i.id
FROM downloads d JOIN ingested_files i ON i.sha256 = d.file_sha256;
DROP TABLE downloads;
{DOWNLOADS_VIEW}
"""

# Schema 4: each package's downloads per day and index, events and per-day counts added together; every ingest
# keeps it up to date (see depgraph.downloads.daily)
DAILY_TABLE = """
CREATE TABLE IF NOT EXISTS daily_downloads (
    source VARCHAR NOT NULL, package VARCHAR NOT NULL, day DATE NOT NULL, downloads BIGINT NOT NULL
);
"""

# daily_downloads summed from everything stored (a migration fills the table with it; a store of an older schema
# opened read-only, so not migrated, is read through it)
DAILY_TOTALS = """
    SELECT source, package, day, sum(downloads) AS downloads FROM (
        SELECT source, package, ts::DATE AS day, count(*) AS downloads FROM downloads GROUP BY ALL
        UNION ALL
        SELECT source, package, day, sum(downloads) FROM download_counts WHERE breakdown = 'total' GROUP BY ALL
    ) GROUP BY ALL"""

TO_DAILY = f"{DAILY_TABLE}\nINSERT INTO daily_downloads {DAILY_TOTALS} ORDER BY day, source, package;"

SCHEMA = BASE_TABLES + RELEASES_TABLE + EVENT_TABLES + DOWNLOADS_VIEW + DAILY_TABLE


def default_path() -> Path:
    """``DEPGRAPH_DB`` if set, else ``downloads.duckdb`` in the user data directory."""
    return Path(os.environ.get(DB_ENV) or Path(user_data_dir("depgraph")) / "downloads.duckdb")


@dataclass
class Store:
    """An open store; use as a context manager."""

    path: Path
    connection: duckdb.DuckDBPyConnection
    known_tables: dict[str, bool] = field(default_factory=dict)  # has_table's answers (catalog queries are slow)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()

    def query(self, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, parameters or []).fetchall()

    def meta(self, key: str) -> str | None:
        row = self.connection.execute("SELECT value FROM depgraph_meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None


def open_store(path: Path | None = None, *, read_only: bool = False, create: bool = True) -> Store:
    """Open (or create) the store at ``path``; refuse a foreign or newer file, migrate an older one."""
    path = path or default_path()
    exists = path.exists()
    if not exists and (read_only or not create):
        raise StoreError(f"no download store at {path}", "ingest a log first: depgraph ingest FILE")
    if exists and path.is_dir():
        raise StoreError(f"{path} is a directory, not a download store", "give a file path with --db")
    if exists and not _looks_like_duckdb(path):
        raise StoreError(f"{path} is not a depgraph download store (not a DuckDB file)",
                         "give another path with --db; the file was left untouched")
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = _connect(path, read_only)
    try:
        _check_or_create_schema(connection, path, read_only)
    except BaseException:
        connection.close()
        raise
    return Store(path, connection)


def _looks_like_duckdb(path: Path) -> bool:
    with path.open("rb") as handle:
        header = handle.read(16)
    return header[8:12] == b"DUCK"


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        connection = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreError(f"the store {path} is busy (another depgraph is writing it)", "try again shortly") from exc
        raise StoreError(f"cannot open the store {path}: {str(exc).splitlines()[0]}", "check the path") from exc
    except duckdb.Error as exc:
        raise StoreError(f"{path} is not a usable download store: {str(exc).splitlines()[0]}",
                         "give another path with --db; the file was left untouched") from exc
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("SET enable_progress_bar = false")  # the library never prints, nor does DuckDB for it
    return connection


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _check_or_create_schema(connection: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    tables = _tables(connection)
    if tables and "depgraph_meta" not in tables:
        raise StoreError(f"{path} is a DuckDB file but not a depgraph download store",
                         "give another path with --db; the file was left untouched")
    if not tables:
        if read_only:
            raise StoreError(f"the store {path} is empty", "ingest a log first: depgraph ingest FILE")
        connection.execute("BEGIN")
        connection.execute(SCHEMA)
        connection.execute("INSERT INTO depgraph_meta VALUES ('application', ?), ('schema_version', ?), "
                           "('client_salt', hex(gen_random_uuid()::VARCHAR))", [APPLICATION, str(SCHEMA_VERSION)])
        connection.execute("COMMIT")
        return
    meta = dict(connection.execute("SELECT key, value FROM depgraph_meta").fetchall())
    if meta.get("application") != APPLICATION:
        raise StoreError(f"{path} is not a depgraph download store", "give another path with --db")
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer depgraph (schema {version})", "upgrade depgraph")
    if version < SCHEMA_VERSION and not read_only:
        try:
            migrate(connection, version)
        except duckdb.Error as exc:
            raise StoreError(f"cannot bring {path} from schema {version} to {SCHEMA_VERSION}: "
                             f"{str(exc).strip().splitlines()[0]}", "the store was left as it was; check its disk") \
                from exc


# From version N to N+1: SQL. A new step gets the next number, and SCHEMA gains what it creates.
MIGRATIONS: dict[int, str] = {1: RELEASES_TABLE, 2: TO_EVENTS, 3: TO_DAILY}


def migrate(connection: duckdb.DuckDBPyConnection, version: int) -> None:
    """Bring a store from ``version`` to the current schema, one step per version, in one transaction: a step
    that fails leaves the store as it was. A store without a version (0) gets the whole schema, whose statements
    are all CREATE ... IF NOT EXISTS."""
    steps = [SCHEMA] if version == 0 else [MIGRATIONS[step] for step in range(version, SCHEMA_VERSION)]
    connection.execute("BEGIN")
    try:
        for step in steps:
            connection.execute(step)
        connection.execute("INSERT OR REPLACE INTO depgraph_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def has_table(store: Store, table: str) -> bool:
    """Whether the store has ``table``, or a temporary view of that name (a store of an older schema opened
    read-only is not migrated). Answers are remembered: whoever creates or drops a table on an open store
    clears ``store.known_tables``."""
    if table not in store.known_tables:
        store.known_tables[table] = bool(store.query(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = $1 UNION ALL "
            "SELECT 1 FROM duckdb_views() WHERE view_name = $1", [table]))
    return store.known_tables[table]


def ingest_id(store: Store, digest: str) -> int:
    """The number ``download_events.ingest`` gives the ingested file ``digest``."""
    (found,) = store.connection.execute("SELECT id FROM ingested_files WHERE sha256 = ?", [digest]).fetchone()
    return int(found)
