"""Finding spikes in the download store: a robust baseline per package and day, computed for every package
at once inside DuckDB.

The baseline of day D is the median of the package's daily downloads over the ``window`` days before D
(days without downloads count as 0), and its spread the median absolute deviation (MAD, scaled by 1.4826 to
estimate a standard deviation). Medians ignore an earlier spike inside the window, and a 28-day window
spans four of each weekday, so the weekly rhythm does not move them. A day is a spike when it is at least
``min_ratio`` times the baseline, ``min_excess`` downloads above it, and ``min_z`` spreads above it. A
package with fewer than ``min_history`` days since its first download (or, when the store holds a release
corpus, its first release) gets ``insufficient-data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from depgraph.downloads.daily import daily_relation
from depgraph.downloads.store import Store, has_table

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class SpikeParams:
    window: int = 28
    min_history: int = 14
    min_ratio: float = 3.0
    min_excess: int = 50
    min_z: float = 5.0


@dataclass(frozen=True)
class DayStat:
    """One package on one day against its baseline."""

    package: str
    day: str
    count: int
    baseline: float
    spread: float
    ratio: float | None
    excess: float
    spike: bool
    status: str  # spike | no-spike | insufficient-data

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "date": self.day, "count": self.count, "baseline": self.baseline,
                "spread": round(self.spread, 3), "ratio": None if self.ratio is None else round(self.ratio, 3),
                "excess": self.excess, "spike": self.spike, "status": self.status}


# a package's age also counts from its first release in the release-metadata corpus, when the store has one:
# a package nobody fetched from this index for weeks is quiet, not young
RELEASE_FIRSTS = """
                UNION ALL
                SELECT name, min(upload_time)::DATE FROM releases
                WHERE upload_time < $day + INTERVAL 1 DAY AND name IN (SELECT package FROM undecided) GROUP BY ALL"""

MIN_BASELINE_FOR_BREADTH = 5.0  # packages fetched less than this a day say nothing about the index as a whole


def _judged(store: Store, packages: list[str] | None, source: str | None) -> str:
    """SQL for every package downloaded on $day (or the ones named in $packages) against its baseline, judged:
    the one definition of a spike, for a whole day's scan and for a few packages alike."""
    source_filter = "AND source = $source" if source else ""
    package_filter = "AND package IN (SELECT unnest($packages))" if packages is not None else ""
    release_firsts = RELEASE_FIRSTS if has_table(store, "releases") else ""
    window_days = f"""SELECT package, day, downloads FROM {daily_relation(store)}
                      WHERE day BETWEEN $first AND $day {source_filter} {package_filter}"""
    if not source:  # the indexes' rows of a day added together (one index has one row a package and day)
        window_days = f"SELECT package, day, sum(downloads) AS downloads FROM ({window_days}) GROUP BY ALL"
    return f"""
        WITH daily AS ({window_days}),
        today AS (SELECT package, downloads FROM daily WHERE day = $day),
        wanted AS (
            SELECT package FROM today
            UNION SELECT unnest($packages) WHERE $packages IS NOT NULL
        ),
        settled AS (  -- downloaded in the window already min_history days before: old enough, no need to look back
            SELECT DISTINCT package FROM daily WHERE day <= $day - INTERVAL ($min_history) DAY
        ),
        undecided AS (SELECT package FROM wanted WHERE package NOT IN (SELECT package FROM settled)),
        firsts AS (
            SELECT package, min(first_day) AS first_day FROM (
                SELECT package, min(day) AS first_day FROM {daily_relation(store)} WHERE day <= $day {source_filter}
                    AND package IN (SELECT package FROM undecided) GROUP BY ALL
                {release_firsts}
            ) GROUP BY package
            UNION ALL
            SELECT package, $first FROM settled
        ),
        history AS (
            SELECT package, list(downloads) AS counts FROM daily WHERE day < $day GROUP BY package
        ),
        measured AS (
            SELECT w.package, coalesce(t.downloads, 0) AS count, f.first_day,
                   coalesce(list_aggregate(list_resize(coalesce(h.counts, []), $window, 0), 'median'), 0)
                       AS baseline,
                   coalesce(list_aggregate(list_resize(coalesce(h.counts, []), $window, 0), 'mad'), 0)
                       * {MAD_TO_SIGMA} AS spread
            FROM wanted w LEFT JOIN today t USING (package) LEFT JOIN history h USING (package)
                 LEFT JOIN firsts f USING (package)
        ),
        judged AS (
            SELECT package, count, baseline, spread,
                   CASE WHEN baseline > 0 THEN count / baseline END AS ratio, count - baseline AS excess,
                   first_day IS NULL OR $day - first_day < $min_history AS young
            FROM measured
        )
        SELECT package, count, baseline, spread, ratio, excess,
               CASE WHEN young THEN 'insufficient-data'
                    WHEN excess >= $min_excess AND coalesce(ratio >= $min_ratio, TRUE)
                         AND excess >= $min_z * greatest(spread, 1.0) THEN 'spike'
                    ELSE 'no-spike' END AS status
        FROM judged"""


def _values(day: date, params: SpikeParams, packages: list[str] | None, source: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"day": day, "first": date.fromordinal(day.toordinal() - params.window),
                              "window": params.window, "packages": packages, "min_history": params.min_history,
                              "min_excess": params.min_excess, "min_ratio": params.min_ratio, "min_z": params.min_z}
    if source:
        values["source"] = source
    return values


def _stat(day: date, row: tuple[Any, ...]) -> DayStat:
    package, count, baseline, spread, ratio, excess, status = row
    return DayStat(package, day.isoformat(), int(count), float(baseline), float(spread),
                   None if ratio is None else float(ratio), float(excess), status == "spike", status)


def day_stats(store: Store, day: date, params: SpikeParams = SpikeParams(), packages: list[str] | None = None,
              source: str | None = None) -> list[DayStat]:
    """Every package downloaded on ``day`` (or the ones named) against its baseline, in one query."""
    rows = store.connection.execute(f"{_judged(store, packages, source)} ORDER BY package",
                                    _values(day, params, packages, source)).fetchall()
    return [_stat(day, row) for row in rows]


@dataclass(frozen=True)
class DayScan:
    """A whole day of the index in one query: the packages that spiked (largest excess first) and the median
    package's downloads over its own baseline (``index_median_ratio``, over packages with a baseline of at
    least MIN_BASELINE_FOR_BREADTH). A mirror or a crawler moves every package, and with it the median; a
    cluster of a few packages, however large its excess (March 2020: +22,000 on a 38,000 day), leaves the
    median package where it was."""

    spikes: tuple[DayStat, ...]
    index_median_ratio: float | None


def day_scan(store: Store, day: date, params: SpikeParams = SpikeParams(), source: str | None = None) -> DayScan:
    """Every package downloaded on ``day``, judged inside DuckDB; only the spikes and the median ratio come out,
    so a registry of 200,000 packages costs Python a few hundred objects, not 200,000."""
    (spikes, median) = store.connection.execute(f"""
        WITH stats AS MATERIALIZED ({_judged(store, None, source)})
        SELECT (SELECT list((package, count, baseline, spread, ratio, excess, status)
                            ORDER BY excess DESC, package) FROM stats WHERE status = 'spike'),
               (SELECT median(count / baseline) FROM stats WHERE baseline >= {MIN_BASELINE_FOR_BREADTH})
    """, _values(day, params, None, source)).fetchone()
    found = tuple(_stat(day, tuple(row)) for row in spikes or [])
    return DayScan(found, None if median is None else float(median))


def spikes_on(store: Store, day: date, params: SpikeParams = SpikeParams(), source: str | None = None) -> list[DayStat]:
    """The packages that spiked on ``day``, largest excess first."""
    return list(day_scan(store, day, params, source).spikes)


SIGNATURE_DIMENSIONS = ("python", "arch", "distro", "installer", "version")


@dataclass(frozen=True)
class Signature:
    """Who downloaded a package on a day: shares by hour, Python, arch, distro, installer and version."""

    package: str
    day: str
    total: int
    hours: tuple[float, ...]  # 24 shares
    shares: dict[str, dict[str, float]]  # dimension -> value -> share of the day's downloads

    def vector(self) -> dict[str, float]:
        """A sparse feature vector: the hour profile and every share, for cosine similarity."""
        features = {f"hour:{h}": share for h, share in enumerate(self.hours)}
        for dimension in ("python", "arch", "installer"):
            features.update({f"{dimension}:{value}": share for value, share in self.shares[dimension].items()})
        return features

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "date": self.day, "total": self.total,
                "hours": [round(h, 4) for h in self.hours],
                **{d: {k: round(v, 4) for k, v in self.shares[d].items()} for d in SIGNATURE_DIMENSIONS}}


def signatures(store: Store, day: date, packages: list[str], source: str | None = None) -> dict[str, Signature]:
    """The per-event signature of each package on ``day`` (packages known only from daily counts have none)."""
    source_filter = "AND source = $source" if source else ""
    values: dict[str, Any] = {"day": day, "packages": packages}
    if source:
        values["source"] = source
    rows = store.connection.execute(f"""
        WITH today AS (SELECT * FROM downloads WHERE ts >= $day AND ts < $day + INTERVAL 1 DAY
                       AND package IN (SELECT unnest($packages)) {source_filter})
        SELECT package, 'hour' AS dimension, hour(ts)::VARCHAR AS value, count(*) FROM today GROUP BY ALL
        {"".join(f" UNION ALL SELECT package, '{d}', coalesce({d}, '?'), count(*) FROM today GROUP BY ALL"
                 for d in SIGNATURE_DIMENSIONS)}
    """, values).fetchall()
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for package, dimension, value, count in rows:
        counts.setdefault(package, {}).setdefault(dimension, {})[value] = int(count)
    return {package: _signature(package, day, found) for package, found in counts.items()}


def _signature(package: str, day: date, found: dict[str, dict[str, int]]) -> Signature:
    total = sum(found["hour"].values())
    hours = tuple(found["hour"].get(str(h), 0) / total for h in range(24))
    shares = {d: {v: c / total for v, c in sorted(found.get(d, {}).items())} for d in SIGNATURE_DIMENSIONS}
    return Signature(package, day.isoformat(), total, hours, shares)


def excess_shares(store: Store, day: date, package: str, dimension: str, params: SpikeParams = SpikeParams(),
                  source: str | None = None) -> dict[str, float]:
    """How the day's excess over the baseline splits by ``dimension`` (python, arch, ...): for each value, the
    day's downloads minus that value's own zero-filled median of the window, as a share of the positive parts.

    A spike of Python 2.7 clients shows as 2.7 taking the whole excess even when 3.x downloads were steady."""
    if dimension not in SIGNATURE_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    source_filter = "AND source = $source" if source else ""
    values: dict[str, Any] = {"day": day, "package": package, "window": params.window,
                              "first": date.fromordinal(day.toordinal() - params.window)}
    if source:
        values["source"] = source
    rows = store.connection.execute(f"""
        WITH daily AS (
            SELECT coalesce({dimension}, '?') AS value, ts::DATE AS day, count(*) AS downloads FROM downloads
            WHERE package = $package AND ts >= $first AND ts < $day + INTERVAL 1 DAY {source_filter} GROUP BY ALL
        )
        SELECT value,
               coalesce(sum(downloads) FILTER (WHERE day = $day), 0)
               - coalesce(list_aggregate(list_resize(list(downloads) FILTER (WHERE day < $day), $window, 0),
                                         'median'), 0)
        FROM daily GROUP BY value ORDER BY value
    """, values).fetchall()
    positive = {value: float(excess) for value, excess in rows if excess and excess > 0}
    total = sum(positive.values())
    return {value: excess / total for value, excess in positive.items()} if total else {}


def similarity(a: Signature, b: Signature) -> float:
    """Cosine similarity of two signatures' feature vectors (1: the same clients, 0: nothing alike)."""
    va, vb = a.vector(), b.vector()
    dot = sum(share * vb.get(key, 0.0) for key, share in va.items())
    norm = (sum(v * v for v in va.values()) * sum(v * v for v in vb.values())) ** 0.5
    return dot / norm if norm else 0.0


@dataclass(frozen=True)
class Cluster:
    packages: tuple[str, ...]
    similarity: float  # the lowest pairwise similarity inside the cluster

    def to_dict(self) -> dict[str, Any]:
        return {"packages": list(self.packages), "similarity": round(self.similarity, 4)}


def co_spike_clusters(found: dict[str, Signature], threshold: float = 0.9) -> list[Cluster]:
    """Group spiking packages whose signatures are alike (connected at ``threshold``), largest first.

    The groups are the connected components of the "alike" pairs, found with a few lines of union-find
    rather than networkx, whose import alone costs more than ``depgraph spikes`` may take."""
    names = sorted(found)
    scores = {(a, b): similarity(found[a], found[b]) for i, a in enumerate(names) for b in names[i + 1:]}
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for (a, b), score in scores.items():
        if score >= threshold:
            parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(root(name), []).append(name)
    clusters = []
    for members in map(tuple, groups.values()):
        inside = [scores[(a, b)] for i, a in enumerate(members) for b in members[i + 1:]]
        clusters.append(Cluster(members, min(inside, default=1.0)))
    return sorted(clusters, key=lambda c: (-len(c.packages), c.packages))


@dataclass(frozen=True)
class CoherenceParams:
    follow_share: float = 0.5  # dependencies "follow" when their median excess is this share of the package's
    surge_ratio: float = 1.5  # the median package rose this much over its baseline: an index-wide surge


@dataclass(frozen=True)
class Coherence:
    """Whether a spike's dependencies rose with it, and the numbers behind the verdict."""

    verdict: str  # orphan-spike | coherent-spike | index-wide-surge | no-spike | insufficient-data
    follow_share: float | None  # median over dependencies of (dependency excess / package excess)
    index_median_ratio: float | None  # the median package's downloads over its baseline that day
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "follow_share": _rounded(self.follow_share),
                "index_median_ratio": _rounded(self.index_median_ratio), "reason": self.reason}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def judge_coherence(package: DayStat, dependencies: list[DayStat], index_median_ratio: float | None,
                    params: CoherenceParams = CoherenceParams()) -> Coherence:
    """orphan-spike: the dependencies did not follow (upgrades in place, installs bypassing resolution, or an
    explicit index); coherent-spike: they rose in proportion (new installs); index-wide-surge: everything rose."""
    if package.status != "spike":
        return Coherence(package.status, None, index_median_ratio, f"{package.package} did not spike")
    if index_median_ratio is not None and index_median_ratio >= params.surge_ratio:
        return Coherence("index-wide-surge", None, index_median_ratio,
                         f"the whole index rose: its median package had {index_median_ratio:.2f}x its baseline")
    if not dependencies:
        return Coherence("orphan-spike", None, index_median_ratio,
                         f"{package.package} has no dependencies on this day's graph to follow it")
    shares = sorted(max(0.0, d.excess) / package.excess for d in dependencies)
    middle = len(shares) // 2
    share = shares[middle] if len(shares) % 2 else (shares[middle - 1] + shares[middle]) / 2
    if share >= params.follow_share:
        return Coherence("coherent-spike", share, index_median_ratio,
                         f"its dependencies rose by {share:.0%} of its excess (median): new installs")
    return Coherence("orphan-spike", share, index_median_ratio,
                     f"its dependencies rose by only {share:.1%} of its excess (median)")
