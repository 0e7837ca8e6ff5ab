"""The reconstructed piwheels 2020-Q1 corpus: deterministic, and every figure of the piwheels blog post
(March 2020) read back from the store after ingest.

The figures below are the published ones (the blog post, in /work/shared/seed); the scenario file is
calibrated to them, and these tests check the generated log against them independently of that file.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import re
from datetime import date
from pathlib import Path

import pytest

from depgraph.downloads import sample
from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.queries import download_counts, top_packages
from depgraph.downloads.sample import generate
from depgraph.downloads.store import Store, open_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "piwheels-2020q1"
SCENARIO = FIXTURE / "scenario.json"
FOUR = ["flask-login", "markdown", "sentry-sdk", "semantic-version"]
DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]

# The blog post's figures.
JAN_FEB_MIN, JAN_FEB_MAX, EARLIER_HIGH = 23_383, 38_139, 39_153
MARCH = {date(2020, 3, 4): 56_225, date(2020, 3, 5): 60_324, date(2020, 3, 6): 52_879}
UP_ON_PREVIOUS_DAY, UP_ON_PREVIOUS_HIGH = 48, 43  # per cent, as written
TOP_3_MARCH = [("pycparser", 1_908), ("numpy", 896)]
FOUR_ON = {date(2020, 3, 3): 130, date(2020, 3, 5): 24_256}
FLASK_5_MARCH = 16


def short_scenario(tmp_path: Path, start: str, end: str) -> Path:
    """The fixture's scenario over a shorter period (its closures file is referred to where it is)."""
    scenario = json.loads(SCENARIO.read_text())
    scenario["period"] = {"start": start, "end": end}
    scenario["closures"] = str(FIXTURE / scenario["closures"])
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    return path


def ingested(log: Path, tmp_path: Path) -> Store:
    store = open_store(tmp_path / "store.duckdb")
    report = ingest_file(store, log)
    assert report.rejected == 0 and report.rows > 0
    return store


def daily(store: Store) -> dict[date, int]:
    return dict(store.query("SELECT ts::DATE, count(*) FROM downloads GROUP BY 1"))


def count(store: Store, package: str, day: date) -> int:
    (row,) = download_counts(store, [package], day, day).rows
    return row.downloads


def four_by_python(store: Store, day: date) -> dict[str, int]:
    return dict(store.query("SELECT python, count(*) FROM downloads WHERE package IN (SELECT unnest(?)) "
                            "AND ts::DATE = ? GROUP BY 1", [FOUR, day]))


@pytest.fixture(scope="module")
def march(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Store]:
    """2 to 7 March only: fast, and the same days as in the full corpus (each day has its own seed)."""
    tmp_path = tmp_path_factory.mktemp("march")
    log = tmp_path / "march.csv.gz"
    generate(short_scenario(tmp_path, "2020-03-02", "2020-03-07"), log)
    return log, ingested(log, tmp_path)


@pytest.fixture(scope="module")
def corpus(reconstruction: tuple[Path, Path, int]) -> Store:
    """The whole corpus, 2019-12-01 to 2020-03-10 (about three million rows), shared with other modules."""
    _log, store_path, rows = reconstruction
    store = open_store(store_path, read_only=True)
    assert store.query("SELECT count(*) FROM downloads")[0][0] == rows
    return store


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    scenario = short_scenario(tmp_path, "2020-03-03", "2020-03-04")
    first, second, other = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz", tmp_path / "c.csv.gz"
    report = generate(scenario, first, seed=7)
    generate(scenario, second, seed=7)
    generate(scenario, other, seed=8)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    assert report.seed == 7 and report.rows == 37_990 + 56_225
    assert report.daily == {"2020-03-03": 37_990, "2020-03-04": 56_225}


def test_worker_processes_write_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = short_scenario(tmp_path, "2020-02-28", "2020-02-29")
    here, there = tmp_path / "here.csv.gz", tmp_path / "there.csv.gz"
    generate(scenario, here)
    monkeypatch.setattr(sample, "DAYS_PER_WORKER", 1)  # two days, two worker processes
    generate(scenario, there)
    assert here.read_bytes() == there.read_bytes()
    loaded = sample.load_scenario(scenario)
    world, plans = sample.World.build(loaded), sample.plan_days(loaded, loaded["seed"])
    with sample._Workers(scenario, loaded["seed"], 2) as workers:  # the workers did build them
        assert [workers.next_day() for _ in plans] == [sample.day_log(plan, loaded["seed"], world) for plan in plans]


def test_rows_are_piwheels_rows_from_documentation_addresses(march: tuple[Path, Store]) -> None:
    log, _store = march
    with gzip.open(log, "rt") as lines:
        header = next(lines).rstrip("\n").split(",")
        rows = [line.rstrip("\n").split(",") for _, line in zip(range(50_000), lines, strict=False)]
    assert header[:3] == ["filename", "accessed_by", "accessed_at"] and len(header) == 13
    assert all(len(row) == 13 for row in rows)
    assert all(any(ipaddress.ip_address(row[1]) in net for net in DOC_NETS) for row in rows)
    assert [row[2] for row in rows] == sorted(row[2] for row in rows)  # in time order
    assert {row[3] for row in rows} == {"armv7l", "armv6l"}
    assert {row[8] for row in rows} == {"CPython"}
    assert {row[9] for row in rows} <= {"2.7.13", "2.7.16", "3.5.3", "3.7.3"}
    assert all(re.fullmatch(r"\S+-\S+-(py2\.py3|py3|py2|cp3\d)-\S+-(any|linux_armv[67]l)\.whl", row[0])
               for row in rows)


def test_march_days_from_the_short_scenario(march: tuple[Path, Store]) -> None:
    _log, store = march
    totals = daily(store)
    for day, figure in MARCH.items():
        assert totals[day] == figure
    assert top_packages(store, date(2020, 3, 3), 2) and [
        (r.package, r.downloads) for r in top_packages(store, date(2020, 3, 3), 2)] == TOP_3_MARCH
    for day, figure in FOUR_ON.items():
        assert sum(count(store, package, day) for package in FOUR) == figure
    assert count(store, "flask", date(2020, 3, 5)) == FLASK_5_MARCH


def test_the_event_starts_at_the_upload(march: tuple[Path, Store]) -> None:
    """Nothing of the surge before 11:46 on 4 March; after it, Python 2.7 fetches of the four by the thousand."""
    _log, store = march
    upload = "TIMESTAMP '2020-03-04 11:46:00'"
    before, after = store.query(
        f"SELECT count(*) FILTER (WHERE ts < {upload}), count(*) FILTER (WHERE ts >= {upload}) FROM downloads "
        "WHERE package IN (SELECT unnest(?)) AND ts::DATE = '2020-03-04' AND python = '2.7'", [FOUR])[0]
    assert before < 100 < 10_000 < after


def test_daily_totals(corpus: Store) -> None:
    totals = daily(corpus)
    assert min(totals) == date(2019, 12, 1) and max(totals) == date(2020, 3, 10) and len(totals) == 101
    jan_feb = [n for day, n in totals.items() if date(2020, 1, 1) <= day <= date(2020, 2, 29)]
    assert (min(jan_feb), max(jan_feb)) == (JAN_FEB_MIN, JAN_FEB_MAX)
    before = {day: n for day, n in totals.items() if day < date(2020, 3, 4)}
    high_day = max(before, key=before.__getitem__)
    assert before[high_day] == EARLIER_HIGH and high_day < date(2020, 1, 1)
    for day, figure in MARCH.items():
        assert totals[day] == figure
    march_3, march_4 = totals[date(2020, 3, 3)], totals[date(2020, 3, 4)]
    assert round(100 * (march_4 / march_3 - 1)) == UP_ON_PREVIOUS_DAY
    assert int(100 * (march_4 / EARLIER_HIGH - 1)) == UP_ON_PREVIOUS_HIGH
    assert all(n < EARLIER_HIGH for day, n in totals.items() if day not in MARCH and n != EARLIER_HIGH)


def test_top_of_3_march(corpus: Store) -> None:
    top = top_packages(corpus, date(2020, 3, 3), 10)
    assert [(r.package, r.downloads) for r in top[:2]] == TOP_3_MARCH
    assert top[2].downloads < TOP_3_MARCH[1][1]


def test_the_four_packages(corpus: Store) -> None:
    for day, figure in FOUR_ON.items():
        assert sum(count(corpus, package, day) for package in FOUR) == figure
    fifth = {package: count(corpus, package, date(2020, 3, 5)) for package in FOUR}
    others = [fifth[p] for p in FOUR[1:]]
    assert 1.8 < fifth["flask-login"] / (sum(others) / 3) < 2.2  # nearly double
    assert max(others) / min(others) < 1.1  # all about the same


def test_the_extra_downloads_are_python_2(corpus: Store) -> None:
    third, fifth = four_by_python(corpus, date(2020, 3, 3)), four_by_python(corpus, date(2020, 3, 5))
    extra = sum(fifth.values()) - sum(third.values())
    assert (fifth.get("2.7", 0) - third.get("2.7", 0)) / extra >= 0.95
    ordinary = FOUR_ON[date(2020, 3, 3)]
    for day in MARCH:  # in fact all: Python 3 fetches of the four stay at an ordinary day's level
        assert sum(n for python, n in four_by_python(corpus, day).items() if python != "2.7") < ordinary


def test_flask_on_5_march(corpus: Store) -> None:
    assert count(corpus, "flask", date(2020, 3, 5)) == FLASK_5_MARCH


def test_a_bell_curve_by_hour(corpus: Store) -> None:
    for day in (date(2020, 2, 12), date(2020, 3, 5)):
        hours = [r.downloads for r in download_counts(corpus, ["pycparser"], day, day, by="hour").rows]
        totals = [n for _, n in sorted(corpus.query(
            "SELECT hour(ts), count(*) FROM downloads WHERE ts::DATE = ? GROUP BY 1", [day]))]
        assert len(totals) == 24 and sum(hours) > 0
        peak = totals.index(max(totals))
        assert max(totals) > 2 * min(totals) and 8 <= peak <= 20


def test_the_generator_does_not_name_the_scenario() -> None:
    """The generator is general: the dependent release and the re-pinned packages live in the fixture only."""
    source = (Path(__file__).resolve().parent.parent / "depgraph" / "downloads" / "sample.py").read_text()
    names = re.compile(r"octoprint|flask[-_ ]?login|markdown|sentry[-_ ]?sdk|semantic[-_ ]?version", re.I)
    assert names.findall(source) == []
