"""HTTP client and remote archive reading, against a real loopback server."""

from __future__ import annotations

import io
import os
import re
import socket
import tarfile
import zipfile
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from depgraph.errors import IndexUnavailable
from depgraph.sources.archives import ArchiveError, sdist_metadata, wheel_metadata
from depgraph.sources.http import Http

METADATA = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: six\n"


def make_wheel(padding: int = 300_000, metadata: bytes = METADATA) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("demo/__init__.py", os.urandom(padding))
        archive.writestr("demo-1.0.dist-info/METADATA", metadata)
        archive.writestr("demo-1.0.dist-info/RECORD", b"")
    return buffer.getvalue()


def make_sdist(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def serve_ranges(server: HTTPServer, path: str, body: bytes, honour_range: bool = True) -> list[str | None]:
    """Serve ``body`` at ``path`` with (or without) Range support; returns the Range headers received."""
    seen: list[str | None] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("Range"))
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", request.headers.get("Range", ""))
        if not honour_range or not match:
            return Response(body, status=200, content_type="application/octet-stream")
        start, end = int(match.group(1)), min(int(match.group(2)), len(body) - 1)
        return Response(body[start:end + 1], status=206, content_type="application/octet-stream",
                        headers={"Content-Range": f"bytes {start}-{end}/{len(body)}"})

    server.expect_request(path).respond_with_handler(handler)
    return seen


@pytest.fixture
def http(tmp_path: Path) -> Http:
    return Http(tmp_path / "http", backoff=0)


def test_wheel_metadata_is_read_with_ranges_only(httpserver: HTTPServer, http: Http) -> None:
    wheel = make_wheel()
    seen = serve_ranges(httpserver, "/demo-1.0-py3-none-any.whl", wheel)
    assert wheel_metadata(http, httpserver.url_for("/demo-1.0-py3-none-any.whl"), len(wheel)) == METADATA
    assert seen and all(r and r.startswith("bytes=") for r in seen)
    fetched = sum(int(b) - int(a) + 1 for a, b in (re.findall(r"\d+", r) for r in seen if r))
    assert fetched < len(wheel) / 2


def test_wheel_metadata_when_the_server_ignores_ranges(httpserver: HTTPServer, http: Http) -> None:
    wheel = make_wheel()
    serve_ranges(httpserver, "/demo.whl", wheel, honour_range=False)
    assert wheel_metadata(http, httpserver.url_for("/demo.whl"), len(wheel)) == METADATA


def test_wheel_without_size_asks_the_server(httpserver: HTTPServer, http: Http) -> None:
    wheel = make_wheel()
    serve_ranges(httpserver, "/demo.whl", wheel)
    assert wheel_metadata(http, httpserver.url_for("/demo.whl"), None) == METADATA


def test_not_a_zip_is_an_archive_error(httpserver: HTTPServer, http: Http) -> None:
    garbage = os.urandom(5000)
    serve_ranges(httpserver, "/bad.whl", garbage)
    with pytest.raises(ArchiveError, match="not a zip"):
        wheel_metadata(http, httpserver.url_for("/bad.whl"), len(garbage))


def test_zip_bomb_member_is_refused(httpserver: HTTPServer, http: Http) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("demo-1.0.dist-info/METADATA", b"\0" * (17 * 1024 * 1024))
    bomb = buffer.getvalue()
    serve_ranges(httpserver, "/bomb.whl", bomb)
    with pytest.raises(ArchiveError, match="cap"):
        wheel_metadata(http, httpserver.url_for("/bomb.whl"), len(bomb))


def test_sdist_metadata_reads_pkg_info_and_requires_txt(httpserver: HTTPServer, http: Http) -> None:
    sdist = make_sdist({"demo-1.0/setup.py": b"raise SystemExit('never run')\n",
                        "demo-1.0/PKG-INFO": b"Metadata-Version: 1.1\nName: demo\nVersion: 1.0\n",
                        "demo-1.0/demo.egg-info/PKG-INFO": b"Metadata-Version: 1.1\nName: demo\n",
                        "demo-1.0/demo.egg-info/requires.txt": b"six\n",
                        "demo-1.0/tests/data/PKG-INFO": b"decoy"})
    httpserver.expect_request("/demo-1.0.tar.gz").respond_with_data(sdist)
    found = sdist_metadata(http, httpserver.url_for("/demo-1.0.tar.gz"), len(sdist), "demo-1.0.tar.gz")
    assert found.requires_txt == b"six\n"
    assert found.pkg_info and found.pkg_info.startswith(b"Metadata-Version: 1.1")


def test_sdist_that_is_not_a_tarball(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/demo-1.0.tar.gz").respond_with_data(b"<html>oops</html>")
    with pytest.raises(ArchiveError, match="tar"):
        sdist_metadata(http, httpserver.url_for("/demo-1.0.tar.gz"), None, "demo-1.0.tar.gz")


def test_retries_server_errors_then_succeeds(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request("/flaky").respond_with_data("ok")
    assert http.get(httpserver.url_for("/flaky")).text == "ok"


def test_gives_up_after_bounded_retries_naming_the_url(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/down").respond_with_data("down", status=500)
    with pytest.raises(IndexUnavailable, match=r"/down"):
        http.get(httpserver.url_for("/down"))
    assert len(httpserver.log) == 4  # the request and three retries


def test_connection_refused_names_the_url(http: Http) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(IndexUnavailable, match=rf"127.0.0.1:{port}/x: cannot connect"):
        http.get(f"http://127.0.0.1:{port}/x")


def test_offline_serves_the_cache_and_names_what_is_missing(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/page").respond_with_data("cached", headers={"Cache-Control": "max-age=600"})
    Http(tmp_path / "http").get(httpserver.url_for("/page"))
    offline = Http(tmp_path / "http", offline=True)
    assert offline.get(httpserver.url_for("/page")).text == "cached"
    with pytest.raises(IndexUnavailable, match=r"offline, and not in the cache: .*/other"):
        offline.get(httpserver.url_for("/other"))
    assert len(httpserver.log) == 1


def test_cache_key_includes_the_accept_header(httpserver: HTTPServer, http: Http) -> None:
    def negotiate(request: Request) -> Response:
        return Response(request.headers.get("Accept", ""), headers={"Cache-Control": "max-age=600"})

    httpserver.expect_request("/negotiated").respond_with_handler(negotiate)
    url = httpserver.url_for("/negotiated")
    assert http.get(url, headers={"Accept": "a/json"}).text == "a/json"
    assert http.get(url, headers={"Accept": "text/html"}).text == "text/html"
