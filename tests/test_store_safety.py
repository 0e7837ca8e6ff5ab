"""The store never loses data: a killed ingest leaves it as it was, and a busy store says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from depgraph.downloads.store import open_store
from depgraph.errors import StoreError

BIG = 1_000_000
HEADER = ("filename,accessed_by,accessed_at,arch,distro_name,distro_version,os_name,os_version,py_name,"
          "py_version,installer_name,installer_version,setuptools_version")


def write_log(path: Path, rows: int, day: str) -> None:
    """A piwheels log of ``rows`` rows written by DuckDB (fast enough to make a file that takes a while)."""
    connection = duckdb.connect()
    connection.execute(f"""
        COPY (SELECT 'pkg' || (i % 500) || '-1.0-py3-none-any.whl' AS filename, '192.0.2.' || (i % 250) AS accessed_by,
                     TIMESTAMP '{day}' + INTERVAL (i % 86400) SECOND AS accessed_at, 'armv7l' AS arch,
                     'Raspbian GNU/Linux' AS distro_name, '10' AS distro_version, 'Linux' AS os_name,
                     '4.19' AS os_version, 'CPython' AS py_name, '3.7.3' AS py_version, 'pip' AS installer_name,
                     '18.1' AS installer_version, '' AS setuptools_version
              FROM range({rows}) t(i))
        TO '{path}' (HEADER, COMPRESSION gzip)""")
    connection.close()
    assert path.open("rb").read(2) == b"\x1f\x8b"
    assert HEADER.split(",")[0] == "filename"


def counts(store_path: Path) -> tuple[int, int]:
    with open_store(store_path, read_only=True) as store:
        return store.query("SELECT (SELECT count(*) FROM downloads), (SELECT count(*) FROM ingested_files)")[0]


def ingest_process(log: Path, store_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "depgraph", "ingest", str(log), "--db", str(store_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_kill_9_during_ingest_leaves_the_store_as_before(tmp_path: Path) -> None:
    store_path = tmp_path / "store.duckdb"
    small, big = tmp_path / "small.csv.gz", tmp_path / "big.csv.gz"
    write_log(small, 1000, "2020-03-01")
    write_log(big, BIG, "2020-03-02")
    assert subprocess.run([sys.executable, "-m", "depgraph", "ingest", str(small), "--db", str(store_path)],
                          capture_output=True, check=False).returncode == 0
    before = counts(store_path)
    process = ingest_process(big, store_path)
    time.sleep(0.8)
    if process.poll() is not None:
        pytest.skip("the ingest finished before it could be killed; make the log larger")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert counts(store_path) == before
    again = subprocess.run([sys.executable, "-m", "depgraph", "ingest", str(big), "--db", str(store_path)],
                           capture_output=True, check=False)
    assert again.returncode == 0, again.stderr
    assert counts(store_path) == (before[0] + BIG, before[1] + 1)


def test_a_second_process_is_told_the_store_is_busy(tmp_path: Path) -> None:
    store_path = tmp_path / "store.duckdb"
    big = tmp_path / "big.csv.gz"
    write_log(big, BIG, "2020-03-02")
    open_store(store_path).connection.close()
    process = ingest_process(big, store_path)
    try:
        wait_for_lock(store_path, process)
        with pytest.raises(StoreError, match="busy"):
            open_store(store_path, read_only=True)
    finally:
        process.wait()
    assert counts(store_path)[0] == BIG


def wait_for_lock(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Until the ingesting process holds the store's file lock (however slowly it starts on a busy machine)."""
    import fcntl

    deadline = time.monotonic() + timeout
    with path.open("rb") as handle:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.skip("the ingest finished before the second reader came")
            try:
                fcntl.lockf(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return  # locked by the writer
            fcntl.lockf(handle, fcntl.LOCK_UN)
            time.sleep(0.05)
    pytest.fail("the ingest never locked the store")
