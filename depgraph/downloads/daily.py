"""Each package's downloads per day and index (``daily_downloads``), kept up to date by every ingest.

A registry-wide scan compares every package's day with its 28 days before. Summing the events (or the many
count rows of a BigQuery fetch) of 29 days for 200,000 packages on every scan costs seconds; reading one row
per package and day costs what a bare DuckDB query over daily counts does. So the totals are kept: one row per
(source, package, day), with events and per-day counts (breakdown ``total``) added together, exactly what the
``downloads`` view and ``download_counts`` give.

Events only ever add to a day, so an events ingest adds its own totals. A counts ingest may replace earlier
counts (pypistats answers overlap), so the days it touched are summed again from everything stored.
"""

from __future__ import annotations

from depgraph.downloads.store import DAILY_TOTALS, Store, has_table, ingest_id

DAILY_TABLE = "daily_downloads"  # see depgraph.downloads.store
FRESH = "daily_fresh"  # temp: the (source, package, day) totals an ingest brings, merged into DAILY_TABLE

# the ingest's visible events (the downloads view without the joins no total needs: a refused row has no time,
# or a file or user-agent key without a lookup row)
EVENTS_OF_INGEST = """
    SELECT i.source, f.package, e.ts::DATE AS day, count(*) AS downloads
    FROM download_events e JOIN download_files f ON f.file = e.file JOIN ingested_files i ON i.id = e.ingest
    WHERE e.ingest = $ingest AND e.ts IS NOT NULL AND e.agent IN (SELECT agent FROM download_agents)
    GROUP BY ALL"""

COUNTS_OF_INGEST = """
    SELECT DISTINCT source, package, day FROM download_counts WHERE file_sha256 = $digest AND breakdown = 'total'"""

# everything stored for the given keys, summed again
RECOUNT = f"""
    SELECT source, package, day, sum(downloads) AS downloads FROM (
        SELECT c.source, c.package, c.day, c.downloads FROM download_counts c SEMI JOIN {FRESH} k
            ON k.source = c.source AND k.package = c.package AND k.day = c.day
        WHERE c.breakdown = 'total'
        UNION ALL
        SELECT i.source, f.package, e.ts::DATE, 1 FROM download_events e
            JOIN download_files f ON f.file = e.file JOIN ingested_files i ON i.id = e.ingest
            SEMI JOIN {FRESH} k ON k.source = i.source AND k.package = f.package AND k.day = e.ts::DATE
        WHERE e.ts >= (SELECT min(day) FROM {FRESH}) AND e.ts < (SELECT max(day) FROM {FRESH}) + INTERVAL 1 DAY
          AND e.agent IN (SELECT agent FROM download_agents)
    ) GROUP BY ALL"""

def add_ingest(store: Store, digest: str, events: bool) -> None:
    """Bring ``daily_downloads`` up to date with the file ``digest`` just ingested (inside its transaction)."""
    connection = store.connection
    ingest = ingest_id(store, digest)
    if events:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {FRESH} AS {EVENTS_OF_INGEST}", {"ingest": ingest})
        connection.execute(f"""INSERT INTO {FRESH} SELECT d.* FROM {DAILY_TABLE} d SEMI JOIN {FRESH} k
                               ON k.source = d.source AND k.package = d.package AND k.day = d.day""")
        merged = f"SELECT source, package, day, sum(downloads) FROM {FRESH} GROUP BY ALL"
    else:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {FRESH} AS {COUNTS_OF_INGEST}", {"digest": digest})
        merged = RECOUNT
    connection.execute(f"CREATE OR REPLACE TEMP TABLE daily_merged AS {merged}")
    connection.execute(f"""DELETE FROM {DAILY_TABLE} d USING {FRESH} k
                           WHERE k.source = d.source AND k.package = d.package AND k.day = d.day""")
    connection.execute(f"INSERT INTO {DAILY_TABLE} SELECT * FROM daily_merged ORDER BY day, source, package")
    connection.execute(f"DROP TABLE {FRESH}; DROP TABLE daily_merged")


def rebuild(store: Store) -> None:
    """Sum ``daily_downloads`` again from every event and count stored."""
    store.connection.execute(f"DELETE FROM {DAILY_TABLE}")
    store.connection.execute(f"INSERT INTO {DAILY_TABLE} {DAILY_TOTALS} ORDER BY day, source, package")


def daily_relation(store: Store) -> str:
    """SQL for (source, package, day, downloads): the kept totals, or, in a store of an older schema opened
    read-only (not migrated), the same summed on the fly."""
    return DAILY_TABLE if has_table(store, DAILY_TABLE) else f"({DAILY_TOTALS})"
