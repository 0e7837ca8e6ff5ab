"""Spike detection over synthetic stores built through the real ingest path."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from depgraph.detect import SpikeParams, day_stats, spikes_on
from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.store import Store, open_store

DAY = date(2020, 3, 5)


def build_store(tmp_path: Path, series: dict[str, dict[date, int]]) -> Store:
    path = tmp_path / "counts.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "package", "downloads"])
        for package, days in series.items():
            writer.writerows((day.isoformat(), package, count) for day, count in days.items())
    store = open_store(tmp_path / "store.duckdb")
    ingest_file(store, path)
    return store


def steady(base: int, days: int = 60, seed: int = 1, end: date = DAY) -> dict[date, int]:
    rng = random.Random(seed)
    return {end - timedelta(i): base + rng.randint(-base // 10, base // 10) for i in range(days)}


def test_a_jump_is_a_spike_and_steady_packages_are_not(tmp_path: Path) -> None:
    jumping = steady(30)
    jumping[DAY] = 5000
    with build_store(tmp_path, {"jumping": jumping, "steady": steady(900, seed=2)}) as store:
        stats = {s.package: s for s in day_stats(store, DAY)}
    assert stats["jumping"].spike and stats["jumping"].status == "spike"
    assert stats["jumping"].excess == 5000 - stats["jumping"].baseline
    assert not stats["steady"].spike and stats["steady"].status == "no-spike"


def test_the_baseline_ignores_an_earlier_spike_and_zero_days_count(tmp_path: Path) -> None:
    sparse = {DAY - timedelta(i): 10 for i in range(1, 40, 2)}  # every other day: half the days are zero
    sparse[DAY - timedelta(3)] = 10_000
    sparse[DAY] = 10
    with build_store(tmp_path, {"sparse": sparse}) as store:
        (stat,) = day_stats(store, DAY)
    assert stat.baseline == pytest.approx(5.0)  # the median of 14 tens and 14 zeros
    assert not stat.spike


def test_young_packages_have_insufficient_data(tmp_path: Path) -> None:
    young = {DAY - timedelta(i): 500 for i in range(5)}
    with build_store(tmp_path, {"young": young, "old": steady(20)}) as store:
        stats = {s.package: s.status for s in day_stats(store, DAY)}
    assert stats["young"] == "insufficient-data"


def test_thresholds_are_parameters(tmp_path: Path) -> None:
    bump = steady(100, seed=3)
    bump[DAY] = 260
    with build_store(tmp_path, {"bump": bump}) as store:
        assert not spikes_on(store, DAY)
        assert [s.package for s in spikes_on(store, DAY, SpikeParams(min_ratio=2.0, min_excess=50))] == ["bump"]


def write_events(path: Path, groups: list[tuple[str, int, str, int, int]]) -> None:
    """A piwheels log: (filename, rows, python version, first hour, hours spread) per group, on DAY."""
    import duckdb

    selects = [f"""SELECT '{filename}' AS filename, '192.0.2.' || (i % 200) AS accessed_by,
                      TIMESTAMP '{DAY}' + INTERVAL ({first_hour} + (i % {spread})) HOUR + INTERVAL (i % 60) MINUTE
                          AS accessed_at,
                      'armv7l' AS arch, 'Raspbian GNU/Linux' AS distro_name, '10' AS distro_version,
                      'Linux' AS os_name, '4.19' AS os_version, 'CPython' AS py_name, '{python}' AS py_version,
                      'pip' AS installer_name, '18.1' AS installer_version, '' AS setuptools_version
               FROM range({rows}) t(i)""" for filename, rows, python, first_hour, spread in groups]
    connection = duckdb.connect()
    connection.execute(f"COPY ({' UNION ALL '.join(selects)}) TO '{path}' (HEADER)")
    connection.close()


def test_packages_downloaded_by_the_same_clients_cluster_and_others_do_not(tmp_path: Path) -> None:
    from depgraph.detect import co_spike_clusters, signatures

    log = tmp_path / "day.csv"
    write_events(log, [("Flask_Login-0.4.1-py2.py3-none-any.whl", 2000, "2.7.16", 11, 12),
                       ("Markdown-3.1.1-py2.py3-none-any.whl", 1000, "2.7.16", 11, 12),
                       ("semantic_version-2.8.4-py2.py3-none-any.whl", 1000, "2.7.16", 11, 12),
                       ("numpy-1.18.1-cp37-cp37m-linux_armv7l.whl", 900, "3.7.3", 0, 24),
                       ("pycparser-2.19-py2.py3-none-any.whl", 1900, "3.7.3", 0, 24)])
    with open_store(tmp_path / "store.duckdb") as store:
        ingest_file(store, log)
        found = signatures(store, DAY, ["flask-login", "markdown", "semantic-version", "numpy", "pycparser"])
    assert found["flask-login"].shares["python"] == {"2.7": 1.0}
    assert found["flask-login"].shares["version"] == {"0.4.1": 1.0}
    clusters = co_spike_clusters({k: found[k] for k in ("flask-login", "markdown", "semantic-version")} |
                                 {"numpy": found["numpy"]})
    assert clusters[0].packages == ("flask-login", "markdown", "semantic-version")
    assert clusters[0].similarity > 0.99
    assert ("numpy",) in [c.packages for c in clusters]


def test_coherence_verdicts(tmp_path: Path) -> None:
    from depgraph.detect import day_scan, judge_coherence

    app, dependency, orphan, other = steady(30, seed=4), steady(40, seed=5), steady(30, seed=6), steady(900, seed=7)
    app[DAY], dependency[DAY], orphan[DAY] = 3000, 2900, 3000
    quiet = {f"quiet-{i}": steady(50 + i, seed=10 + i) for i in range(5)}
    with build_store(tmp_path, {"app": app, "dep": dependency, "orphan": orphan, "other": other, **quiet}) as store:
        stats = {s.package: s for s in day_stats(store, DAY)}
        breadth = day_scan(store, DAY).index_median_ratio
    assert breadth is not None and 0.8 < breadth < 1.2  # three spikes do not move the median package
    assert judge_coherence(stats["app"], [stats["dep"]], breadth).verdict == "coherent-spike"
    verdict = judge_coherence(stats["orphan"], [stats["other"]], breadth)
    assert verdict.verdict == "orphan-spike" and verdict.follow_share is not None and verdict.follow_share < 0.1
    assert judge_coherence(stats["orphan"], [stats["other"]], 2.0).verdict == "index-wide-surge"
    assert judge_coherence(stats["other"], [], breadth).verdict == "no-spike"


def test_a_quiet_package_with_old_releases_is_not_young(tmp_path: Path) -> None:
    import json

    series = {"old-quiet": {DAY: 4000}, "steady": steady(50)}
    with build_store(tmp_path, series) as store:
        assert day_stats(store, DAY, packages=["old-quiet"])[0].status == "insufficient-data"
        export = tmp_path / "releases.jsonl"
        export.write_text(json.dumps({"name": "old-quiet", "version": "1.0", "upload_time": "2018-01-01 00:00:00 UTC",
                                      "requires_dist": [], "packagetype": "sdist",
                                      "filename": "old-quiet-1.0.tar.gz"}) + "\n")
        ingest_file(store, export)
        assert day_stats(store, DAY, packages=["old-quiet"])[0].status == "spike"


def test_the_day_scan_is_the_spikes_of_the_day_stats_and_their_median_ratio(tmp_path: Path) -> None:
    from statistics import median

    from depgraph.detect import MIN_BASELINE_FOR_BREADTH, day_scan

    series = {f"p{i}": steady(3 + 7 * i, seed=i) for i in range(12)}
    for i in (2, 5, 9):
        series[f"p{i}"][DAY] = 40 * (3 + 7 * i)
    series["young"] = {DAY: 900}
    with build_store(tmp_path, series) as store:
        stats = day_stats(store, DAY)
        scan = day_scan(store, DAY)
    spikes = sorted((s for s in stats if s.spike), key=lambda s: (-s.excess, s.package))
    assert [s.package for s in scan.spikes] == ["p9", "p5", "p2"] and list(scan.spikes) == spikes
    ratios = [s.count / s.baseline for s in stats if s.baseline >= MIN_BASELINE_FOR_BREADTH]
    assert len(ratios) < len(stats) and scan.index_median_ratio == pytest.approx(median(ratios))


def test_two_indexes_are_counted_apart_or_together(tmp_path: Path) -> None:
    series = {"both": steady(40, seed=3), "only-here": steady(25, seed=4)}
    with build_store(tmp_path, series) as store:
        other = tmp_path / "other.csv"
        other.write_text("date,package,downloads\n" + "".join(
            f"{day.isoformat()},both,{count}\n" for day, count in steady(70, seed=5).items()))
        ingest_file(store, other, source="mirror")
        apart = {source: {s.package: s.count for s in day_stats(store, DAY, source=source)}
                 for source in ("counts", "mirror")}
        together = {s.package: s.count for s in day_stats(store, DAY)}
    assert apart["counts"] == {"both": series["both"][DAY], "only-here": series["only-here"][DAY]}
    assert apart["mirror"] == {"both": steady(70, seed=5)[DAY]}
    assert together == {"both": apart["counts"]["both"] + apart["mirror"]["both"],
                        "only-here": apart["counts"]["only-here"]}
