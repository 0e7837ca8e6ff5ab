"""Security properties as tests: no package code is ever run, archive member names never become paths that are
written, archive reads are capped, and no host but the configured indexes (and the files they list for the
releases chosen) is contacted.

An audit hook (PEP 578) watches the whole process while a resolution runs: it sees every subprocess, every
``exec``/``compile`` of code and every file opened for writing, whoever asks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from depgraph.sources import archives
from depgraph.sources.archives import ArchiveError, sdist_metadata, wheel_metadata
from depgraph.sources.http import Http
from tests.cli_runs import run_cli
from tests.conftest import RECORDINGS
from tests.fake_index import FakeIndex, Served, core_metadata, sdist_bytes, wheel_bytes
from tests.replay import Replay

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
from recording import Recording

SPAWN_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                "pty.spawn", "ctypes.dlopen")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class Watch:
    """What the audit hook saw while ``active``."""

    def __init__(self) -> None:
        self.active = False
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.active and (event.startswith(SPAWN_EVENTS) or event in ("exec", "compile", "open", "os.rename",
                                                                          "os.replace", "os.symlink", "os.link")):
            self.events.append((event, args))

    def spawned(self) -> list[str]:
        return [event for event, _ in self.events if event.startswith(SPAWN_EVENTS)]

    def code_from(self, folder: Path) -> list[str]:
        """Code objects run or compiled whose file lies in ``folder`` (where a package's files would be)."""
        found = []
        for event, args in self.events:
            filename = getattr(args[0], "co_filename", None) if event == "exec" else \
                (str(args[1]) if event == "compile" and len(args) > 1 else None)
            if filename and str(folder) in filename:
                found.append(filename)
        return found

    def writes_outside(self, allowed: Path) -> list[str]:
        """Paths opened for writing (or renamed, linked) anywhere but under ``allowed``."""
        written = []
        for event, args in self.events:
            if event == "open":
                path, mode, flags = args
                if isinstance(path, int) or not (("w" in str(mode or "") or "a" in str(mode or "")
                                                  or "x" in str(mode or "") or "+" in str(mode or ""))
                                                 or (flags or 0) & WRITE_FLAGS):
                    continue
            elif event in ("os.rename", "os.replace", "os.symlink", "os.link"):
                path = args[1]
            else:
                continue
            if not str(os.fsdecode(path)).startswith(str(allowed)):
                written.append(str(path))
        return written


WATCH = Watch()
sys.addaudithook(WATCH)


@contextmanager
def watching() -> Iterator[Watch]:
    WATCH.events.clear()
    WATCH.active = True
    try:
        yield WATCH
    finally:
        WATCH.active = False


@pytest.fixture
def index(httpserver: HTTPServer) -> FakeIndex:
    return FakeIndex(httpserver)


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """Another host: any request it gets is a failure."""
    server = HTTPServer(host="127.0.0.1")
    server.start()
    yield server
    server.clear()
    server.stop()


def marker_code(marker: Path) -> bytes:
    return f"open({str(marker)!r}, 'w').write('package code ran')\n".encode()


# --- no package code is ever run --------------------------------------------------------------------------

def test_resolving_sdists_runs_none_of_their_code(index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  isolated_environment: Path) -> None:
    """Sdists whose dependencies only a build could tell (setup.py, an in-tree PEP 517 backend, a wheel with a
    .pth file): resolving them marks them unknown, and nothing of theirs runs: no marker file, no subprocess, no
    code compiled from them."""
    markers = {name: tmp_path / f"ran-{name}" for name in ("setup", "backend", "pth", "init")}
    index.add_file("demo", "demo-1.0.tar.gz", sdist_bytes({
        "demo-1.0/setup.py": marker_code(markers["setup"]),
        "demo-1.0/pyproject.toml": b'[build-system]\nrequires = []\nbuild-backend = "evil"\nbackend-path = ["."]\n',
        "demo-1.0/evil.py": marker_code(markers["backend"]),
        "demo-1.0/PKG-INFO": b"Metadata-Version: 1.1\nName: demo\nVersion: 1.0\n",
    }))
    index.add_file("tool", "tool-1.0-py3-none-any.whl", wheel_bytes("tool", "1.0", core_metadata("tool", "1.0"), {
        "tool-init.pth": b"import os; " + marker_code(markers["pth"]),
        "tool/__init__.py": marker_code(markers["init"]),
    }))
    monkeypatch.chdir(tmp_path)
    with watching() as watch:
        result = run_cli("resolve", "demo", "tool", "--index", index.simple_url, "--format", "json")
    assert result.exit_code == 0, result.output
    demo = next(p for p in json.loads(result.stdout)["packages"] if p["name"] == "demo")
    assert demo["unknown"] and demo["metadata_source"] == "unknown"
    assert not [m for m in markers.values() if m.exists()]
    assert watch.spawned() == []
    assert watch.code_from(tmp_path) == []
    assert watch.writes_outside(isolated_environment) == []


# --- archive members never become written paths -----------------------------------------------------------

ESCAPES = ("../../escaped-dotdot", "/tmp/depgraph-escaped-absolute", "demo-1.0/../../escaped-inner")


def test_hostile_member_names_are_never_written(index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                isolated_environment: Path) -> None:
    """Member names that climb out (``../``), absolute names, and a PKG-INFO that is a symlink to a system file:
    metadata is read from the archive in memory, nothing is extracted, and the link is not followed."""
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    members = {name: b"x" for name in ESCAPES}
    index.add_file("demo", "demo-1.0.tar.gz", sdist_bytes(
        {**members, "demo-1.0/demo.egg-info/requires.txt": b"six\n",
         "demo-1.0/demo.egg-info/PKG-INFO": b"Metadata-Version: 1.1\nName: demo\n"},
        symlinks={"demo-1.0/PKG-INFO": "/etc/passwd"}))
    index.add_file("tool", "tool-1.0-py3-none-any.whl", wheel_bytes("tool", "1.0", core_metadata("tool", "1.0"),
                                                                    members), )
    index.add_wheel("six", "1.0")
    monkeypatch.chdir(work)
    before = outside_cache(tmp_path, isolated_environment)
    with watching() as watch:
        result = run_cli("resolve", "demo", "tool", "--index", index.simple_url, "--format", "json")
    assert result.exit_code == 0, result.output
    packages = {p["name"]: p for p in json.loads(result.stdout)["packages"]}
    assert packages["demo"]["metadata_source"] == "sdist-requires-txt" and "six" in packages
    assert outside_cache(tmp_path, isolated_environment) == before
    assert not Path("/tmp/depgraph-escaped-absolute").exists()
    assert watch.writes_outside(isolated_environment) == []


def outside_cache(folder: Path, cache: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if cache not in p.parents and p != cache)


def test_the_watch_sees_what_it_must(tmp_path: Path, isolated_environment: Path) -> None:
    """The audit hook is live: a subprocess, code compiled from a package's folder and a write are all seen."""
    import subprocess

    with watching() as watch:
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        exec(compile("x = 1", str(tmp_path / "setup.py"), "exec"), {})
        (tmp_path / "written").write_text("x")
    assert watch.spawned() and watch.code_from(tmp_path) == [str(tmp_path / "setup.py")] * 2
    assert watch.writes_outside(isolated_environment) == [str(tmp_path / "written")]


def test_member_count_is_capped(index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "MAX_MEMBERS", 10)
    many = {f"demo-1.0/file{i}.py": b"" for i in range(20)}
    wheel = wheel_bytes("demo", "1.0", core_metadata("demo", "1.0"), many)
    sdist = sdist_bytes({**many, "demo-1.0/PKG-INFO": core_metadata("demo", "1.0")})
    index.serve("/demo.whl", Served(wheel))
    index.serve("/demo.tar.gz", Served(sdist))
    http = Http(tmp_path / "http")
    with pytest.raises(ArchiveError, match="more than 10 members"):
        wheel_metadata(http, index.url("/demo.whl"), len(wheel))
    with pytest.raises(ArchiveError, match="more than 10 members"):
        sdist_metadata(http, index.url("/demo.tar.gz"), len(sdist), "demo-1.0.tar.gz")


def test_an_oversize_sdist_is_unknown_not_downloaded(index: FakeIndex, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "MAX_SDIST_BYTES", 1000)
    body = sdist_bytes({"demo-1.0/PKG-INFO": core_metadata("demo", "1.0"), "demo-1.0/big": os.urandom(5000)})
    index.serve("/demo.tar.gz", Served(body))
    with pytest.raises(ArchiveError, match="over the 1000 cap"):
        sdist_metadata(Http(tmp_path / "http"), index.url("/demo.tar.gz"), len(body), "demo-1.0.tar.gz")
    with pytest.raises(ArchiveError, match="larger than the 1,000-byte cap"):  # a size the index did not give
        sdist_metadata(Http(tmp_path / "http"), index.url("/demo.tar.gz"), None, "demo-1.0.tar.gz")


# --- only the configured indexes are contacted ------------------------------------------------------------

def foreign_page(page: dict[str, Any], other: str) -> dict[str, Any]:
    """The recorded page with every file but the one the resolver needs moved to ``other``, and links to it in
    every place a Simple page can hold one."""
    kept = "semantic_version-2.8.4-py2.py3-none-any.whl"
    files = [f if f["filename"] == kept else {**f, "url": f"{other}/moved/{f['filename']}"} for f in page["files"]]
    files += [
        {"filename": "evil-1.0-py3-none-any.whl", "url": f"{other}/evil-1.0-py3-none-any.whl", "hashes": {}},
        {"filename": "semantic_version-latest.exe", "url": f"{other}/installer.exe", "hashes": {}},
        {"filename": "semantic_version-3.0.0-py2.py3-none-any.whl", "url": f"{other}/yanked.whl", "hashes": {},
         "yanked": "broken", "upload-time": "2020-01-01T00:00:00Z", "core-metadata": True},
        {"filename": "semantic_version-2.9.0-py2.py3-none-any.whl", "url": f"{other}/future.whl", "hashes": {},
         "upload-time": "2021-01-01T00:00:00Z", "core-metadata": True},
        {"filename": "semantic_version-2.8.9-cp27-cp27m-win32.whl", "url": f"{other}/windows.whl", "hashes": {},
         "upload-time": "2020-01-01T00:00:00Z"},
    ]
    return {**page, "files": files, "alternate-locations": [f"{other}/simple/semantic-version/"],
            "meta": {**page["meta"], "tracks": [f"{other}/simple/semantic-version/"]},
            "project-status": {"status": "active", "reason": f"see {other}/status"}}


def test_links_to_another_host_are_never_followed(httpserver: HTTPServer, elsewhere: HTTPServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A recorded page whose other files, alternate locations and tracks point at another host: resolving as of
    2020-03-05 needs none of them, and that host sees no request (the replay fails on unrecorded requests)."""
    recorded = Recording(RECORDINGS / "pypi")
    url = "{{pypi}}/simple/semantic-version/"
    entry = recorded.entries[(url, None)]
    other = elsewhere.url_for("").rstrip("/")
    override = Recording(tmp_path / "override")
    override.add(url, None, 200, entry.headers, json.dumps(foreign_page(json.loads(recorded.body(entry)), other))
                 .encode())
    override.save()
    replay = Replay(httpserver, tmp_path / "override", RECORDINGS / "pypi")
    monkeypatch.setenv("DEPGRAPH_PYPI_URL", replay.pypi_simple_url())
    result = run_cli("resolve", "semantic-version", "--date", "2020-03-05", "--python", "2.7", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [(p["name"], p["version"]) for p in json.loads(result.stdout)["packages"]] == [("semantic-version",
                                                                                          "2.8.4")]
    assert not replay.misses, replay.misses
    assert elsewhere.log == []


def test_piwheels_links_to_another_host_are_never_followed(index: FakeIndex, elsewhere: HTTPServer) -> None:
    """piwheels' project JSON names PyPI's and its own pages and may give absolute file URLs: only the file
    chosen is read, from where the JSON says; the other URLs are never fetched."""
    other = elsewhere.url_for("").rstrip("/")
    metadata = core_metadata("demo", "1.0")
    index.serve("/simple/demo/demo-1.0-py3-none-any.whl", Served(wheel_bytes("demo", "1.0", metadata)))
    release = {"prerelease": False, "yanked": False, "skip_reason": ""}
    document = {"package": "demo", "summary": f"see {other}/", "pypi_url": f"{other}/project/demo/",
                "piwheels_url": f"{other}/project/demo/", "releases": {
                    "2.0": {**release, "released": "2021-01-01 00:00:00", "files": {
                        "demo-2.0-py3-none-any.whl": {"file_url": f"{other}/demo-2.0-py3-none-any.whl"}}},
                    "1.0": {**release, "released": "2020-01-01 00:00:00", "files": {
                        "demo-1.0-py3-none-any.whl": {"apt_dependencies": [f"{other}/apt"]}}}}}
    index.serve("/project/demo/json/", Served(json.dumps(document).encode(), "application/json"))
    result = run_cli("resolve", "demo", "--index", "piwheels", "--piwheels-url", index.url("/"), "--date",
                     "2020-03-05", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["packages"][0]["version"] == "1.0"
    assert elsewhere.log == []


def test_metadata_urls_are_never_followed(index: FakeIndex, elsewhere: HTTPServer) -> None:
    other = elsewhere.url_for("").rstrip("/")
    extra = (f"Home-page: {other}/home\nDownload-URL: {other}/demo-1.0.tar.gz\nProject-URL: Source, {other}/src\n"
             f"Requires-Dist: six @ {other}/six-1.0-py3-none-any.whl\n")
    index.add_wheel("demo", "1.0", metadata=core_metadata("demo", "1.0", extra=extra))
    index.add_wheel("six", "1.0")
    result = run_cli("resolve", "demo", "--index", index.simple_url)
    assert result.exit_code == 0, result.output
    assert elsewhere.log == []
