"""Shared fixtures: an isolated cache per test, and a loopback server replaying recorded index responses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.replay import FIXTURES, Replay

RECORDINGS = FIXTURES / "recordings"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache directory and no index settings from the outside world."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("DEPGRAPH_CACHE_DIR", str(cache))
    for name in ("DEPGRAPH_PYPI_URL", "DEPGRAPH_PIWHEELS_URL", "DEPGRAPH_OFFLINE", "DEPGRAPH_DB",
                 "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    return cache


@pytest.fixture
def replay(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Replay]:
    """PyPI as recorded, on loopback; ``DEPGRAPH_PYPI_URL`` points at it. Fails the test on unrecorded requests."""
    server = Replay(httpserver, RECORDINGS / "pypi")
    monkeypatch.setenv("DEPGRAPH_PYPI_URL", server.pypi_simple_url())
    yield server
    assert not server.misses, f"requests that were never recorded: {server.misses[:5]}"


@pytest.fixture
def piwheels_replay(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Replay]:
    """Recorded PyPI and generated piwheels on loopback; the index settings point at them."""
    server = Replay(httpserver, RECORDINGS / "pypi", RECORDINGS / "piwheels")
    monkeypatch.setenv("DEPGRAPH_PYPI_URL", server.pypi_simple_url())
    monkeypatch.setenv("DEPGRAPH_PIWHEELS_URL", server.url("piwheels") + "/")
    yield server
    assert not server.misses, f"requests that were never recorded: {server.misses[:5]}"


@pytest.fixture(scope="session")
def reconstruction(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """The piwheels 2020-Q1 reconstruction, generated and ingested once (with its release corpus) through
    ``depgraph sample``'s library call: (log, store path, rows generated)."""
    from depgraph.downloads.corpora import make_sample

    folder = tmp_path_factory.mktemp("reconstruction")
    result = make_sample("piwheels-2020q1", folder / "piwheels-2020q1.csv.gz", store_path=folder / "store.duckdb",
                         ingest=True)
    assert result.ingest is not None and result.ingest.rejected == 0
    assert result.releases is not None and result.releases.rejected == 0
    return result.generation.path, folder / "store.duckdb", result.generation.rows
