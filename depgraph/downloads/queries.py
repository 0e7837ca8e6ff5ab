"""Counting downloads inside DuckDB: by day or hour, per package, optionally split by one dimension.

Per-event rows and per-period counts are counted alike; days (or hours) without downloads in the requested
range appear with 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from depgraph.downloads.filenames import canonical_list
from depgraph.downloads.store import Store, has_table
from depgraph.errors import BadInput

SPLITS = {"python": "python", "arch": "arch", "distro": "distro", "installer": "installer", "version": "version",
          "os": "os"}
COUNT_SPLITS = {"python": "python", "os": "os", "version": "version", "arch": "arch", "installer": "installer"}


@dataclass(frozen=True)
class CountRow:
    package: str
    period: str
    downloads: int
    split: str | None = None
    split_value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"package": self.package, "period": self.period, "downloads": self.downloads}
        if self.split:
            row[self.split] = self.split_value
        return row


@dataclass(frozen=True)
class CountTable:
    rows: tuple[CountRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows]}


def store_range(store: Store) -> tuple[date, date] | None:
    """The first and last day the store has downloads of (events or daily counts), or None when it has none.

    The times are read from ``download_events`` itself (a schema-3 store), not through the ``downloads`` view,
    which would join every event with its file and user agent to read one column."""
    events = "download_events" if has_table(store, "download_events") else "downloads"
    row = store.query(f"SELECT min(d), max(d) FROM (SELECT min(ts)::DATE AS d FROM {events} UNION ALL "
                      f"SELECT max(ts)::DATE FROM {events} UNION ALL SELECT min(day) FROM download_counts "
                      "UNION ALL SELECT max(day) FROM download_counts)")[0]
    return None if row[0] is None else (row[0], row[1])


def download_counts(store: Store, packages: list[str], start: date | None = None, end: date | None = None,
                    by: str = "day", split: str | None = None, source: str | None = None) -> CountTable:
    """Downloads per package and period in [start, end], zero-filled; optionally per ``split`` value."""
    if by not in ("day", "hour"):
        raise BadInput(f"--by {by!r} is not day or hour", "use --by day or --by hour")
    if split is not None and split not in SPLITS:
        raise BadInput(f"--split {split!r} is unknown", f"use one of {', '.join(SPLITS)}")
    names = canonical_list(packages)
    bounds = store_range(store)
    if bounds is None:
        return CountTable(())
    start, end = start or bounds[0], end or bounds[1]
    if start > end:
        raise BadInput(f"--from {start} is after --to {end}", "swap them")
    period = "date_trunc('hour', ts)" if by == "hour" else "ts::DATE"
    event_split = SPLITS[split] if split else "NULL"
    count_split = COUNT_SPLITS.get(split or "", "NULL") if split else "NULL"
    breakdown = split if split in ("python", "os") else "total"
    source_filter = "AND source = $source" if source else ""
    step = "INTERVAL 1 HOUR" if by == "hour" else "INTERVAL 1 DAY"
    sql = f"""
        WITH day_counts AS (
            SELECT * FROM download_counts
            WHERE package IN (SELECT unnest($packages)) AND day BETWEEN $start AND $end {source_filter}
              {"AND FALSE" if by == "hour" else ""}
        ),
        -- a day's counts split by python or os (pypistats) where they exist, else its totals (which may carry
        -- the split's value themselves, as a counts file's rows do): never both, so a split adds up to the total
        chosen_counts AS (
            SELECT * FROM day_counts c
            WHERE c.breakdown = $breakdown
               OR (c.breakdown = 'total' AND NOT EXISTS (
                   SELECT 1 FROM day_counts s WHERE s.breakdown = $breakdown AND s.source = c.source
                     AND s.package = c.package AND s.day = c.day))
        ),
        counted AS (
            SELECT package, {period} AS period, {event_split} AS split_value, count(*) AS downloads
            FROM downloads
            WHERE package IN (SELECT unnest($packages)) AND ts >= $start AND ts < $end + INTERVAL 1 DAY {source_filter}
            GROUP BY ALL
            UNION ALL
            SELECT package, day AS period, {count_split} AS split_value, sum(downloads) AS downloads
            FROM chosen_counts
            GROUP BY ALL
        ),
        periods AS (
            SELECT unnest(range($start::TIMESTAMP, $end::TIMESTAMP + INTERVAL 1 DAY, {step})) AS period
        ),
        splits AS (SELECT DISTINCT package, split_value FROM counted),
        grid AS (
            SELECT p.package, periods.period, s.split_value
            FROM (SELECT unnest($packages) AS package) p CROSS JOIN periods
            LEFT JOIN splits s ON s.package = p.package
        )
        SELECT g.package, g.period, g.split_value, coalesce(sum(c.downloads), 0)::BIGINT
        FROM grid g LEFT JOIN counted c ON c.package = g.package AND c.period::TIMESTAMP = g.period
             AND c.split_value IS NOT DISTINCT FROM g.split_value
        GROUP BY ALL
        ORDER BY g.package, g.period, g.split_value NULLS FIRST
    """
    params: dict[str, Any] = {"packages": names, "start": start, "end": end, "breakdown": breakdown}
    if source:
        params["source"] = source
    rows = store.connection.execute(sql, params).fetchall()
    fmt = "%Y-%m-%dT%H:00" if by == "hour" else "%Y-%m-%d"
    return CountTable(tuple(CountRow(package, when.strftime(fmt), int(count), split, value if split else None)
                            for package, when, value, count in rows))


@dataclass(frozen=True)
class TopRow:
    rank: int
    package: str
    downloads: int

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "package": self.package, "downloads": self.downloads}


def top_packages(store: Store, day: date, n: int = 10, source: str | None = None) -> tuple[TopRow, ...]:
    """The ``n`` most downloaded packages on ``day``."""
    if n < 1:
        raise BadInput(f"-n {n} is not a positive number", "use e.g. -n 10")
    source_filter = "AND source = $source" if source else ""
    params: dict[str, Any] = {"day": day, "n": n}
    if source:
        params["source"] = source
    rows = store.connection.execute(f"""
        SELECT package, sum(downloads)::BIGINT AS total FROM (
            SELECT package, count(*) AS downloads FROM downloads
            WHERE ts >= $day AND ts < $day + INTERVAL 1 DAY {source_filter} GROUP BY package
            UNION ALL
            SELECT package, sum(downloads) FROM download_counts
            WHERE day = $day AND breakdown = 'total' {source_filter} GROUP BY package
        ) GROUP BY package ORDER BY total DESC, package LIMIT $n
    """, params).fetchall()
    return tuple(TopRow(i + 1, package, int(total)) for i, (package, total) in enumerate(rows))
