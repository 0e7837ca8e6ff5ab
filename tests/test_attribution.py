"""Ranking the releases that explain a cluster, over the hand-made release-metadata export."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from depgraph.attribution import rank_suspects
from depgraph.downloads.ingest import ingest_file
from depgraph.downloads.store import Store, open_store

EXPORT = Path(__file__).parent / "data" / "releases" / "distribution-metadata.jsonl"
DAY = date(2020, 3, 5)
START = datetime(2020, 3, 4, 11, 0)
CLUSTER = {"flask-login": "0.4.1", "markdown": "3.1.1", "sentry-sdk": "0.13.2", "semantic-version": "2.8.4"}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "store.duckdb")
    ingest_file(opened, EXPORT)
    return opened


def test_the_release_that_repinned_the_cluster_comes_first(store: Store) -> None:
    suspects = rank_suspects(store, CLUSTER, DAY, set(CLUSTER), START)
    first = suspects[0]
    assert (first.package, first.version) == ("octoprint", "1.4.0")
    assert first.parts["coverage"] == 1.0 and first.parts["fingerprint"] == 1.0
    assert any("sentry-sdk==0.13.2" in line for line in first.evidence)
    assert all(s.score < first.score for s in suspects[1:])
    assert len(suspects) > 1  # decoys that share a package are ranked, below it


def test_without_the_version_fingerprint_the_score_drops(store: Store) -> None:
    before = rank_suspects(store, CLUSTER, DAY, set(CLUSTER), START)[0]
    newer = {**CLUSTER, "sentry-sdk": "0.14.2", "markdown": "3.2.1"}  # what a loose requirement would fetch
    after = next(s for s in rank_suspects(store, newer, DAY, set(newer), START) if s.package == "octoprint")
    assert after.parts["fingerprint"] == 0.5
    assert after.score < before.score


def test_a_release_after_the_spike_began_cannot_start_it(store: Store) -> None:
    late = datetime(2020, 3, 2, 0, 0)
    suspects = {(s.package, s.version): s for s in rank_suspects(store, CLUSTER, DAY, set(CLUSTER), late)}
    assert suspects[("octoprint", "1.4.0")].parts["recency"] == 0.0
    assert any("after the spike began" in line for line in suspects[("octoprint", "1.4.0")].evidence)
