"""The whole of ``depgraph explain`` on small synthetic worlds, one per verdict: a log in piwheels' format and a
release-metadata export, both written here, ingested through the real ingest path, explained through the CLI.

The names are made up on purpose (an application ``widget-app`` re-pins ``alpha`` and ``beta``): the verdicts,
clusters and suspects come from the data, so they must come out the same for any names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from depgraph.cli import cli

DAY = date(2020, 3, 5)
HISTORY_DAYS = 60


@dataclass
class World:
    """Steady daily downloads per file, extra downloads on chosen days, and releases."""

    steady: list[tuple[str, int, str, int]] = field(default_factory=list)  # filename, per day, python, days
    events: list[tuple[str, int, str, int, int, date]] = field(default_factory=list)  # + first hour, spread, day
    releases: list[dict] = field(default_factory=list)

    def daily(self, filename: str, per_day: int, python: str = "3.7.3", days: int = HISTORY_DAYS) -> World:
        self.steady.append((filename, per_day, python, days))
        return self

    def burst(self, filename: str, rows: int, python: str = "2.7.16", first_hour: int = 11, spread: int = 12,
              day: date = DAY) -> World:
        self.events.append((filename, rows, python, first_hour, spread, day))
        return self

    def release(self, name: str, version: str, uploaded: datetime, requires: list[str]) -> World:
        filename = f"{name.replace('-', '_')}-{version}-py2.py3-none-any.whl"
        self.releases.append({"name": name, "version": version, "requires_dist": requires,
                              "upload_time": uploaded.isoformat() + "Z", "filename": filename,
                              "packagetype": "bdist_wheel", "requires_python": None})
        return self

    def store(self, folder: Path) -> Path:
        """Write the log and the export, ingest both with ``depgraph ingest``, return the store's path."""
        log, export, store = folder / "log.csv", folder / "releases.jsonl", folder / "store.duckdb"
        write_log(log, self.steady, self.events)
        export.write_text("".join(json.dumps(r) + "\n" for r in self.releases))
        files = [str(log)] + ([str(export)] if self.releases else [])
        result = CliRunner().invoke(cli, ["ingest", *files, "--db", str(store)])
        assert result.exit_code == 0, result.output
        return store


COLUMNS = """'192.0.2.' || (i % 250) AS accessed_by, {when} AS accessed_at, 'armv7l' AS arch,
             'Raspbian GNU/Linux' AS distro_name, '10' AS distro_version, 'Linux' AS os_name, '4.19' AS os_version,
             'CPython' AS py_name, '{python}' AS py_version, 'pip' AS installer_name, '18.1' AS installer_version,
             '' AS setuptools_version"""


def write_log(path: Path, steady: list[tuple], events: list[tuple]) -> None:
    selects = [f"""SELECT '{filename}' AS filename, {COLUMNS.format(
                      when=f"TIMESTAMP '{DAY}' - INTERVAL (d) DAY + INTERVAL ((i * 24) // {per_day}) HOUR",
                      python=python)}
                   FROM range(0, {days}) t(d), range({per_day}) u(i)""" for filename, per_day, python, days in steady]
    selects += [f"""SELECT '{filename}' AS filename, {COLUMNS.format(
                       when=f"TIMESTAMP '{day}' + INTERVAL ({first_hour} + (i % {spread})) HOUR "
                            "+ INTERVAL (i % 60) MINUTE", python=python)}
                    FROM range({rows}) t(i)""" for filename, rows, python, first_hour, spread, day in events]
    with duckdb.connect() as connection:
        connection.execute(f"COPY ({' UNION ALL '.join(selects)}) TO '{path}' (HEADER)")


def background(world: World) -> World:
    """Packages nobody is interested in, so that the index has a median package."""
    for i in range(8):
        world.daily(f"quiet_{i}-1.0-cp37-cp37m-linux_armv7l.whl", 40 + 5 * i)
    return world


def wheel(name: str, version: str) -> str:
    return f"{name.replace('-', '_')}-{version}-py2.py3-none-any.whl"


def at(days_before: int, hour: int = 10) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour) - timedelta(days=days_before)


def repinning_world(alpha_downloaded: str = "1.2") -> World:
    """``widget-app`` 2.0, released the day before, pins ``alpha==1.2`` and ``beta>=2,<3`` (both changed since
    1.9) and keeps ``base-lib>=1.0``. Python 2 clients upgrade in place: alpha and beta spike, base-lib does not.
    ``gadget`` 0.5 also requires alpha, loosely (its newest admitted alpha is 1.3)."""
    world = background(World())
    world.daily(wheel("widget-app", "1.9"), 20, "2.7.16").daily(wheel("alpha", "1.2"), 30)
    world.daily(wheel("beta", "2.0"), 25).daily(wheel("base-lib", "1.0"), 40, "2.7.16")
    world.burst(wheel("alpha", alpha_downloaded), 2000).burst(wheel("beta", "2.0"), 2000)
    world.release("base-lib", "1.0", at(400), [])
    world.release("alpha", "1.1", at(200), ["base-lib>=1.0"]).release("alpha", "1.2", at(100), ["base-lib>=1.0"])
    world.release("alpha", "1.3", at(10), ["base-lib>=1.0"])
    world.release("beta", "1.5", at(300), []).release("beta", "2.0", at(50), []).release("beta", "3.0", at(20), [])
    world.release("widget-app", "1.9", at(40), ["alpha<1.2", "beta<2", "base-lib>=1.0"])
    world.release("widget-app", "2.0", at(1), ["alpha==1.2", "beta<3,>=2", "base-lib>=1.0"])
    world.release("gadget", "0.4", at(100), ["alpha>=1.0"]).release("gadget", "0.5", at(10), ["alpha>=1.0"])
    return world


def explain(store: Path, package: str, day: date = DAY) -> dict:
    result = CliRunner().invoke(cli, ["--offline", "explain", package, "--date", day.isoformat(), "--db", str(store),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def repinned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repinning_world().store(tmp_path_factory.mktemp("repinned"))


def test_an_orphan_cluster_is_explained_by_the_repinning_release(repinned: Path) -> None:
    data = explain(repinned, "alpha")
    assert data["verdict"] == "orphan-spike"
    assert sorted(data["cluster"]) == ["alpha", "beta"]
    assert [d["package"] for d in data["dependencies"]] == ["base-lib"]
    top = data["suspects"][0]
    assert (top["package"], top["version"]) == ("widget-app", "2.0")
    assert top["parts"]["fingerprint"] == 1.0 and top["parts"]["changes"] == 1.0
    gadget = next(s for s in data["suspects"] if s["package"] == "gadget")
    assert gadget["score"] < top["score"]
    assert data["dependencies_not_following"][0]["package"] == "base-lib"
    assert data["dependencies_not_following"][0]["why"].startswith("not needed")
    assert not any("reconstruction" in note for note in data["notes"])  # real-looking logs are not called one
    assert data["signature"]["python_excess"] == {"2.7": 1.0}


def test_without_the_version_fingerprint_the_suspect_weakens(repinned: Path, tmp_path: Path) -> None:
    before = explain(repinned, "alpha")["suspects"][0]
    after = explain(repinning_world(alpha_downloaded="1.3").store(tmp_path), "alpha")
    suspect = next(s for s in after["suspects"] if (s["package"], s["version"]) == ("widget-app", "2.0"))
    assert suspect["parts"]["fingerprint"] == 0.5
    assert suspect["score"] < before["score"]


def test_a_quiet_day_is_no_spike(repinned: Path) -> None:
    data = explain(repinned, "alpha", DAY - timedelta(days=3))
    assert data["verdict"] == "no-spike" and data["suspects"] == []


def test_a_new_install_wave_is_coherent(tmp_path: Path) -> None:
    world = background(World()).daily(wheel("delta", "1.0"), 20).daily(wheel("epsilon", "1.0"), 30)
    world.burst(wheel("delta", "1.0"), 2000, "3.7.3", 0, 24).burst(wheel("epsilon", "1.0"), 1900, "3.7.3", 0, 24)
    world.release("epsilon", "1.0", at(300), []).release("delta", "1.0", at(90), ["epsilon>=1"])
    data = explain(world.store(tmp_path), "delta")
    assert data["verdict"] == "coherent-spike"
    assert data["coherence"]["follow_share"] > 0.5


def test_an_index_wide_surge(tmp_path: Path) -> None:
    world = background(World())
    for name, per_day, python, _days in list(world.steady):
        world.burst(name, per_day * 3, python, 0, 24)  # a mirror fetched everything again, three times over
    data = explain(world.store(tmp_path), "quiet-3")
    assert data["verdict"] == "index-wide-surge"
    assert data["coherence"]["index_median_ratio"] >= 1.5


def test_a_brand_new_package_has_insufficient_data(tmp_path: Path) -> None:
    world = background(World()).daily(wheel("fresh", "0.1"), 500, days=3)
    world.release("fresh", "0.1", at(3), [])
    data = explain(world.store(tmp_path), "fresh")
    assert data["verdict"] == "insufficient-data"
