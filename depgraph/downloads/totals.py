"""Index-wide download totals inside DuckDB: per day (against the index's own baseline) or per hour, optionally
without some packages ("subtracting those packages levels out the graph"), and what the store was built from.

Per-event rows and per-day counts (breakdown ``total``) are added alike; periods without downloads appear with 0.
Hourly totals come from per-event rows only: per-day counts have no hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from depgraph.downloads.filenames import canonical_list
from depgraph.downloads.store import Store
from depgraph.errors import BadInput

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class IndexSpikeParams:
    """When a day's index-wide total is a spike: the whole index moves far less than one package does, so the
    ratio is lower than a package's; the baseline is the median of the ``window`` days before, as in detect."""

    window: int = 28
    min_history: int = 14
    min_ratio: float = 1.2
    min_z: float = 5.0


@dataclass(frozen=True)
class TotalRow:
    period: str  # YYYY-MM-DD, or YYYY-MM-DDTHH:00 for hours
    downloads: int
    baseline: float | None = None  # days only: the median of the window before (None: too little history)
    spike: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "downloads": self.downloads, "baseline": self.baseline, "spike": self.spike}


@dataclass(frozen=True)
class TotalSeries:
    by: str  # day | hour
    excluded: tuple[str, ...]
    source: str | None
    rows: tuple[TotalRow, ...]

    @property
    def spike_days(self) -> tuple[str, ...]:
        return tuple(row.period for row in self.rows if row.spike)

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "excluded": list(self.excluded), "source": self.source,
                "rows": [r.to_dict() for r in self.rows]}


@dataclass(frozen=True)
class IngestedFile:
    name: str
    format: str
    source: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "source": self.source, "rows": self.rows}


def _check_range(start: date, end: date) -> None:
    if start > end:
        raise BadInput(f"--from {start} is after --to {end}", "swap them")


def _source_filter(source: str | None) -> str:
    return "AND source = $source" if source else ""


def daily_totals(store: Store, start: date, end: date, exclude: list[str] | tuple[str, ...] = (),
                 source: str | None = None, params: IndexSpikeParams | None = None) -> TotalSeries:
    """Downloads of the whole index (less ``exclude``) per day of [start, end], each against the median of the
    ``window`` days before it; a day is a spike when it is ``min_ratio`` times that and ``min_z`` spreads above."""
    _check_range(start, end)
    params = params or IndexSpikeParams()
    excluded = canonical_list(list(exclude))
    values: dict[str, Any] = {"first": start - timedelta(days=params.window), "start": start, "end": end,
                              "excluded": excluded, "window": params.window}
    if source:
        values["source"] = source
    rows = store.connection.execute(f"""
        WITH counted AS (
            SELECT ts::DATE AS day, count(*) AS downloads FROM downloads
            WHERE ts >= $first AND ts < $end + INTERVAL 1 DAY AND NOT list_contains($excluded, package)
                  {_source_filter(source)}
            GROUP BY ALL
            UNION ALL
            SELECT day, sum(downloads) FROM download_counts
            WHERE day BETWEEN $first AND $end AND breakdown = 'total' AND NOT list_contains($excluded, package)
                  {_source_filter(source)}
            GROUP BY ALL
        ),
        known AS (SELECT least(
            (SELECT min(ts)::DATE FROM downloads {_where_source(source)}),
            (SELECT min(day) FROM download_counts {_where_source(source)})) AS first_day),
        days AS (
            SELECT unnest(range(greatest($first::TIMESTAMP, coalesce((SELECT first_day FROM known), $start)),
                                $end::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 1 DAY))::DATE AS day
        ),
        series AS (
            SELECT d.day, coalesce(sum(c.downloads), 0)::BIGINT AS downloads
            FROM days d LEFT JOIN counted c ON c.day = d.day GROUP BY ALL
        ),
        judged AS (
            SELECT day, downloads,
                   median(downloads) OVER w AS baseline, mad(downloads) OVER w AS spread, count(*) OVER w AS history
            FROM series
            WINDOW w AS (ORDER BY day ROWS BETWEEN $window PRECEDING AND 1 PRECEDING)
        )
        SELECT day, downloads, baseline, spread, history FROM judged WHERE day >= $start ORDER BY day
    """, values).fetchall()
    by_day = {row[0]: row for row in rows}
    series = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        found = by_day.get(day)
        series.append(_judged_day(day, found, params) if found else TotalRow(day.isoformat(), 0))
    return TotalSeries("day", tuple(excluded), source, tuple(series))


def _where_source(source: str | None) -> str:
    return "WHERE source = $source" if source else ""


def _judged_day(day: date, row: tuple[Any, ...], params: IndexSpikeParams) -> TotalRow:
    _, downloads, baseline, spread, history = row
    if history < params.min_history or baseline is None:
        return TotalRow(day.isoformat(), int(downloads))
    sigma = float(spread or 0) * MAD_TO_SIGMA
    spike = (downloads >= params.min_ratio * baseline and downloads - baseline >= params.min_z * max(sigma, 1.0))
    return TotalRow(day.isoformat(), int(downloads), float(baseline), bool(spike))


def hourly_totals(store: Store, start: date, end: date, exclude: list[str] | tuple[str, ...] = (),
                  source: str | None = None) -> TotalSeries:
    """Downloads of the whole index (less ``exclude``) per hour of the days [start, end], from per-event rows."""
    _check_range(start, end)
    excluded = canonical_list(list(exclude))
    values: dict[str, Any] = {"start": start, "end": end, "excluded": excluded}
    if source:
        values["source"] = source
    rows = store.connection.execute(f"""
        WITH counted AS (
            SELECT date_trunc('hour', ts) AS hour, count(*) AS downloads FROM downloads
            WHERE ts >= $start AND ts < $end + INTERVAL 1 DAY AND NOT list_contains($excluded, package)
                  {_source_filter(source)}
            GROUP BY ALL
        ),
        hours AS (SELECT unnest(range($start::TIMESTAMP, $end::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 1 HOUR)) AS hour)
        SELECT h.hour, coalesce(c.downloads, 0)::BIGINT FROM hours h LEFT JOIN counted c ON c.hour = h.hour
        ORDER BY h.hour
    """, values).fetchall()
    return TotalSeries("hour", tuple(excluded), source,
                       tuple(TotalRow(hour.strftime("%Y-%m-%dT%H:00"), int(n)) for hour, n in rows))


def ingested_files(store: Store) -> tuple[IngestedFile, ...]:
    """The files the store was built from, in the order they were ingested."""
    rows = store.query("SELECT name, format, source, rows FROM ingested_files ORDER BY ingested_at, name")
    return tuple(IngestedFile(name, fmt, source, int(count)) for name, fmt, source, count in rows)
