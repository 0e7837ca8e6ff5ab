"""The release-metadata corpus shipped with the piwheels 2020-Q1 reconstruction (real metadata, recorded from
PyPI): the dependent release of the scenario's event explains its cluster, ahead of the decoys that share a
package with it. Every name, version and time comes from scenario.json."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from depgraph.attribution import LOOKBACK_DAYS, Suspect, rank_suspects
from depgraph.downloads import corpora
from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.releases import releases_requiring, versions_of
from depgraph.downloads.store import Store, open_store

CORPUS = "piwheels-2020q1"
SCENARIO = corpora.scenario_path(CORPUS)
RELEASES = SCENARIO.parent / corpora.RELEASES_FILE
LOG = Path(__file__).parent / "data" / "logs" / "piwheels-2020-03.csv"


@dataclass(frozen=True)
class Event:
    dependent: str  # PEP 503 name
    version: str
    day: date
    start: datetime
    cluster: dict[str, str]  # PEP 503 name -> the version downloaded


def _event() -> Event:
    scenario = json.loads(SCENARIO.read_text())
    event = scenario["event"]
    cluster = {canonicalize_name(p["name"]): p["version"] for p in event["packages"]}
    filled = [q for q in scenario["quotas"] if q.get("fill") == "event"]  # the day the event's volume is pinned
    assert len(filled) == 1
    return Event(canonicalize_name(event["dependent"]["name"]), event["dependent"]["version"],
                 date.fromisoformat(filled[0]["day"]), datetime.fromisoformat(event["dependent"]["uploaded"]),
                 cluster)


EVENT = _event()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with open_store(tmp_path_factory.mktemp("corpus") / "store.duckdb") as opened:
        report = ingest_file(opened, RELEASES)
        assert report.format == "releases" and report.rows > 0 and report.rejected == 0
        yield opened


@pytest.fixture(scope="module")
def ranked(store: Store) -> list[Suspect]:
    """The suspects for the event's cluster as it was downloaded."""
    return _rank(store, EVENT.cluster)


def _rank(store: Store, cluster: dict[str, str]) -> list[Suspect]:
    return rank_suspects(store, cluster, EVENT.day, set(cluster), EVENT.start)


def _dependent(suspects: list[Suspect]) -> Suspect:
    return next(s for s in suspects if (s.package, s.version) == (EVENT.dependent, EVENT.version))


def test_the_corpus_is_sorted_and_shaped_like_distribution_metadata() -> None:
    with gzip.open(RELEASES, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    keys = {"name", "version", "requires_dist", "requires_python", "filename", "packagetype", "python_version",
            "size", "upload_time", "sha256_digest", "path"}
    assert all(set(row) == keys for row in rows)
    assert all(row["upload_time"].endswith(" UTC") and row["packagetype"] in ("bdist_wheel", "sdist")
               for row in rows)
    order = [(canonicalize_name(r["name"]), r["upload_time"], r["filename"]) for r in rows]
    assert order == sorted(order)
    assert len({r["filename"] for r in rows}) == len(rows)
    assert RELEASES.stat().st_size < 1024 * 1024


def test_the_dependent_release_comes_first(ranked: list[Suspect]) -> None:
    first = ranked[0]
    assert (first.package, first.version) == (EVENT.dependent, EVENT.version)
    assert first.parts["coverage"] == 1.0 and first.parts["fingerprint"] == 1.0
    assert all(s.score < first.score for s in ranked[1:])


def test_decoys_sharing_each_package_are_ranked_below_it(store: Store, ranked: list[Suspect]) -> None:
    top = ranked[0]
    by_release = {(s.package, s.version): s for s in ranked}
    window = (EVENT.start - timedelta(days=LOOKBACK_DAYS), datetime.combine(EVENT.day, datetime.min.time())
              + timedelta(days=1))
    for package in EVENT.cluster:
        requiring = releases_requiring(store, [package], *window)
        decoys = [by_release[(r.name, r.version)] for r in requiring
                  if r.name != EVENT.dependent and (r.name, r.version) in by_release]
        assert decoys, f"no other project requiring {package} among the suspects"
        assert all(d.score < top.score for d in decoys)
    projects = {s.package for s in ranked}
    assert len(projects - {EVENT.dependent}) >= 4


def test_without_the_version_fingerprint_the_dependent_scores_less(store: Store, ranked: list[Suspect]) -> None:
    before = _dependent(ranked)
    cutoff = datetime.combine(EVENT.day, datetime.min.time()) + timedelta(days=1)
    changed = 0
    for package, downloaded in EVENT.cluster.items():
        newest = versions_of(store, package, cutoff)[-1][0]
        if newest == downloaded:
            continue  # the pin admits the newest release: downloading it leaves the fingerprint as it is
        changed += 1
        after = _dependent(_rank(store, {**EVENT.cluster, package: newest}))
        assert after.parts["fingerprint"] < before.parts["fingerprint"], package
        assert after.score < before.score, package
    assert changed > 0


@dataclass(frozen=True)
class _Generated:
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path)}


def test_make_sample_ingests_the_release_corpus_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from depgraph.downloads import sample

    def small_log(scenario: Path, output: Path, seed: int | None = None) -> _Generated:
        shutil.copyfile(LOG, output)  # the full log is millions of rows; any piwheels log will do here
        return _Generated(output)

    monkeypatch.setattr(sample, "generate", small_log)
    result = corpora.make_sample(CORPUS, tmp_path / "log.csv", store_path=tmp_path / "store.duckdb", ingest=True)
    assert result.ingest is not None and result.ingest.format == "piwheels"
    assert result.releases is not None and result.releases.format == "releases" and result.releases.rows > 0
    assert result.to_dict()["releases"]["rows"] == result.releases.rows
    assert corpora.make_sample(CORPUS, tmp_path / "again.csv").releases is None  # nothing ingested, nothing said
