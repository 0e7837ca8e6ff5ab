"""Network faults against loopback servers: timeouts, bodies cut short, wrong content types, redirect loops,
oversize answers, Retry-After. Retries are bounded, the final error names the URL and the cause, and through
the CLI it is one line on stderr with exit code 1. Faults werkzeug cannot produce (a server that never answers,
a Content-Length larger than the body, an endless body) come from a tiny socket server.
"""

from __future__ import annotations

import gzip
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from depgraph.errors import BadInput, IndexUnavailable
from depgraph.sources.http import Http, settings_from_environment
from depgraph.sources.metadata import fetch_metadata
from depgraph.sources.piwheels import fetch_piwheels_project
from depgraph.sources.pypi import fetch_project_info
from depgraph.sources.simple import fetch_project_page, release_files
from tests.cli_runs import assert_clean_failure, run_cli
from tests.fake_index import FakeIndex, Served

Behaviour = Callable[[socket.socket, int], None]


class RawServer:
    """A loopback TCP server: each connection's request is read, then ``behaviour(connection, number)`` runs."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self.stopped = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection, self.connections), daemon=True).start()

    def _answer(self, connection: socket.socket, number: int) -> None:
        with connection:
            connection.settimeout(5)
            received = b""
            try:
                while b"\r\n\r\n" not in received:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return
                    received += chunk
                self.behaviour(connection, number)
            except OSError:
                return


def head(status: str = "200 OK", content_type: str = "text/plain", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", "Connection: close",
             *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Behaviour], RawServer]]:
    servers: list[RawServer] = []

    def start(behaviour: Behaviour) -> RawServer:
        servers.append(RawServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def http(tmp_path: Path) -> Http:
    return Http(tmp_path / "http", timeout=(2.0, 0.3), retries=2, backoff=0)


@pytest.fixture
def index(httpserver: HTTPServer) -> FakeIndex:
    return FakeIndex(httpserver)


@pytest.fixture
def fast_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI waits 0.3 s for an answer and retries once."""
    monkeypatch.setenv("DEPGRAPH_HTTP_TIMEOUT", "0.3")
    monkeypatch.setenv("DEPGRAPH_HTTP_RETRIES", "1")


# --- timeouts ---------------------------------------------------------------------------------------------

def silent(server_stop: threading.Event) -> Behaviour:
    return lambda connection, number: server_stop.wait(10) and None


def test_a_server_that_never_answers_times_out_after_bounded_retries(raw_server, http: Http) -> None:
    stop = threading.Event()
    server = raw_server(silent(stop))
    started = time.monotonic()
    with pytest.raises(IndexUnavailable, match=rf"{server.url('/page')}: timed out") as caught:
        http.get(server.url("/page"))
    stop.set()
    assert time.monotonic() - started < 5
    assert server.connections == 3  # the request and two retries
    assert "DEPGRAPH_HTTP_TIMEOUT" in str(caught.value)


def test_a_body_that_stalls_times_out(raw_server, http: Http) -> None:
    stop = threading.Event()

    def stall(connection: socket.socket, number: int) -> None:
        connection.sendall(head(Content_Length="100") + b"0123456789")
        stop.wait(10)

    server = raw_server(stall)
    with pytest.raises(IndexUnavailable, match="timed out"):
        http.get(server.url("/slow"))
    stop.set()


def test_the_timeout_and_retries_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPGRAPH_HTTP_TIMEOUT", "0.25")
    monkeypatch.setenv("DEPGRAPH_HTTP_RETRIES", "0")
    monkeypatch.setenv("DEPGRAPH_HTTP_MAX_BYTES", "1000")
    assert settings_from_environment() == ((0.25, 0.25), 0, 1000)
    monkeypatch.setenv("DEPGRAPH_HTTP_TIMEOUT", "soon")
    with pytest.raises(BadInput, match="DEPGRAPH_HTTP_TIMEOUT='soon'"):
        settings_from_environment()


def test_cli_timeout_is_one_line_naming_the_url(raw_server, fast_cli) -> None:
    stop = threading.Event()
    server = raw_server(silent(stop))
    result = run_cli("resolve", "demo", "--index", server.url("/simple/"))
    stop.set()
    assert_clean_failure(result, (1,), server.url("/simple/demo/"), "timed out")
    assert server.connections == 2


# --- bodies cut short -------------------------------------------------------------------------------------

def truncated(connection: socket.socket, number: int) -> None:
    connection.sendall(head(Content_Length="1000") + b"only ten b")


def test_a_body_shorter_than_its_content_length_is_retried_then_named(raw_server, http: Http) -> None:
    server = raw_server(truncated)
    with pytest.raises(IndexUnavailable, match=rf"{server.url('/cut')}: the response was cut short"):
        http.get(server.url("/cut"))
    assert server.connections == 3


def test_a_body_cut_short_once_is_asked_for_again(raw_server, http: Http) -> None:
    def once(connection: socket.socket, number: int) -> None:
        if number == 1:
            truncated(connection, number)
        else:
            connection.sendall(head(Content_Length="5") + b"whole")

    server = raw_server(once)
    assert http.get(server.url("/flaky")).text == "whole"
    assert server.connections == 2


def test_cli_body_cut_short(raw_server, fast_cli) -> None:
    server = raw_server(truncated)
    result = run_cli("resolve", "demo", "--index", server.url("/simple/"))
    assert_clean_failure(result, (1,), server.url("/simple/demo/"), "cut short")


def test_bad_gzip_content_encoding_is_named(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/z").respond_with_data(b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(IndexUnavailable, match=r"/z: the response cannot be decoded"):
        http.get(httpserver.url_for("/z"))


# --- oversize answers -------------------------------------------------------------------------------------

def test_a_declared_oversize_body_is_refused_unread(raw_server, tmp_path: Path) -> None:
    sent: list[int] = []

    def big(connection: socket.socket, number: int) -> None:
        connection.sendall(head(Content_Length=str(50_000_000)))
        try:
            for _ in range(50_000_000 // 65536):
                connection.sendall(b"x" * 65536)
                sent.append(65536)
        except OSError:
            return

    server = raw_server(big)
    http = Http(tmp_path / "http", retries=0, max_bytes=10_000)
    with pytest.raises(IndexUnavailable, match=r"/big: the response is larger than the 10,000-byte cap"):
        http.get(server.url("/big"))
    assert sum(sent) < 50_000_000


def test_an_endless_chunked_body_is_cut_at_the_cap(raw_server, tmp_path: Path) -> None:
    def endless(connection: socket.socket, number: int) -> None:
        connection.sendall(head(Transfer_Encoding="chunked"))
        chunk = b"x" * 65536
        try:
            for _ in range(2000):  # 128 MiB if nobody stops reading
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            return

    server = raw_server(endless)
    http = Http(tmp_path / "http", retries=0, max_bytes=1_000_000)
    started = time.monotonic()
    with pytest.raises(IndexUnavailable, match="larger than the 1,000,000-byte cap"):
        http.get(server.url("/endless"))
    assert time.monotonic() - started < 10


def test_a_gzip_bomb_is_capped_on_its_decoded_size(httpserver: HTTPServer, tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    http = Http(tmp_path / "http", retries=0, max_bytes=1_000_000)
    with pytest.raises(IndexUnavailable, match="larger than the 1,000,000-byte cap"):
        http.get(httpserver.url_for("/bomb"))


def test_cli_oversize_page(index: FakeIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    index.add_wheel("demo", "1.0")
    monkeypatch.setenv("DEPGRAPH_HTTP_MAX_BYTES", "100")
    result = run_cli("resolve", "demo", "--index", index.simple_url)
    assert_clean_failure(result, (1,), index.url("/simple/demo/"), "larger than the 100-byte cap")


def test_a_cached_answer_is_held_to_the_cap_too(index: FakeIndex, tmp_path: Path) -> None:
    index.serve("/cached", Served(b"y" * 5000, headers={"Cache-Control": "max-age=600"}))
    assert len(Http(tmp_path / "http").get(index.url("/cached")).content) == 5000
    with pytest.raises(IndexUnavailable, match="larger than the 1,000-byte cap"):
        Http(tmp_path / "http", max_bytes=1000).get(index.url("/cached"))
    assert index.requests == ["/cached"]


# --- redirects --------------------------------------------------------------------------------------------

def test_a_redirect_loop_is_named_and_bounded(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    with pytest.raises(IndexUnavailable, match=r"/a: too many redirects"):
        http.get(httpserver.url_for("/a"))
    assert len(httpserver.log) <= 31


def test_a_redirect_to_a_local_file_is_refused(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/away").respond_with_data("", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(IndexUnavailable, match=r"/away: not a URL depgraph can fetch"):
        http.get(httpserver.url_for("/away"))


def test_cli_redirect_loop(index: FakeIndex, fast_cli) -> None:
    index.serve("/simple/demo/", Served(b"", status=301, headers={"Location": "/simple/demo/"}))
    result = run_cli("resolve", "demo", "--index", index.simple_url)
    assert_clean_failure(result, (1,), index.url("/simple/demo/"), "too many redirects")


# --- statuses and Retry-After ----------------------------------------------------------------------------

def test_retry_after_is_capped(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_ordered_request("/busy").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    httpserver.expect_ordered_request("/busy").respond_with_data("ok")
    started = time.monotonic()
    assert Http(tmp_path / "http", max_wait=0.2).get(httpserver.url_for("/busy")).text == "ok"
    assert time.monotonic() - started < 3


def test_cli_server_errors_give_up_naming_the_status(index: FakeIndex, fast_cli) -> None:
    index.serve("/simple/demo/", Served(b"down", status=503))
    result = run_cli("resolve", "demo", "--index", index.simple_url)
    assert_clean_failure(result, (1,), index.url("/simple/demo/"), "HTTP 503",
                         "still after 1 retries")
    assert len(index.requests) == 2


def test_cli_connection_refused(fast_cli) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli("resolve", "demo", "--index", f"http://127.0.0.1:{port}/simple/")
    assert_clean_failure(result, (1,), f"127.0.0.1:{port}/simple/demo/", "cannot connect")


# --- wrong content type, wrong shape ---------------------------------------------------------------------

PAGE = "application/vnd.pypi.simple.v1+json"
WRONG_PAGES = {
    "html-for-json": Served(b"<html><body>502 Bad Gateway</body></html>", PAGE),
    "plain-text": Served(b"demo-1.0.tar.gz\n", "text/plain"),
    "json-not-pep691": Served(b'{"files": "none"}', PAGE),
    "json-list": Served(b"[1, 2, 3]", PAGE),
    "json-file-without-url": Served(json.dumps({"meta": {"api-version": "1.0"}, "name": "demo",
                                                "files": [{"filename": "demo-1.0.tar.gz"}]}).encode(), PAGE),
    "future-api": Served(json.dumps({"meta": {"api-version": "9.0"}, "name": "demo", "files": []}).encode(), PAGE),
    "deep-json": Served(b"[" * 100_000 + b"]" * 100_000, PAGE),
    "binary": Served(bytes(range(256)) * 4, "application/octet-stream"),
}


@pytest.mark.parametrize("kind", sorted(WRONG_PAGES))
def test_a_simple_page_of_the_wrong_type_or_shape(index: FakeIndex, http: Http, kind: str) -> None:
    index.serve("/simple/demo/", WRONG_PAGES[kind])
    with pytest.raises(IndexUnavailable, match=r"/simple/demo/: not a Simple API page"):
        fetch_project_page(http, index.simple_url, "demo")


def test_naive_upload_times_on_a_page_are_utc(index: FakeIndex, http: Http) -> None:
    index.add_wheel("demo", "1.0", upload_time="2020-03-05T10:00:00")
    files = release_files(fetch_project_page(http, index.simple_url, "demo"), "demo", "test")
    assert files[0].upload_time is not None and files[0].upload_time.utcoffset() is not None
    result = run_cli("resolve", "demo", "--index", index.simple_url, "--date", "2020-03-05", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["packages"][0]["version"] == "1.0"


@pytest.mark.parametrize("body", [b"<html>not json</html>", b'{"package": 3}', b'{"releases": []}', b"[" * 50_000])
def test_piwheels_json_of_the_wrong_type_or_shape(index: FakeIndex, http: Http, body: bytes) -> None:
    index.serve("/project/demo/json/", Served(body, "application/json"))
    with pytest.raises(IndexUnavailable, match=r"/project/demo/json/: not a piwheels project JSON"):
        fetch_piwheels_project(http, index.url("/"), "demo")


@pytest.mark.parametrize("body", [b"<html>not json</html>", b"[]", b'{"info": []}', b'{"info": {"name": 1}}',
                                  b'{"info": {"name": "demo", "requires_dist": "six"}}',
                                  b'{"info": {"name": "demo"}, "releases": {"1.0": [{"filename": 3}]}}',
                                  b'{"info": {"name": "demo"}, "releases": {"1.0": [{"filename": "d", '
                                  b'"upload_time": "yesterday"}]}}'])
def test_pypi_json_of_the_wrong_type_or_shape(index: FakeIndex, http: Http, body: bytes) -> None:
    index.serve("/pypi/demo/json", Served(body, "application/json"))
    with pytest.raises(IndexUnavailable, match=r"/pypi/demo/json: not a PyPI JSON API answer"):
        fetch_project_info(http, index.url("/pypi/"), "demo")


def test_an_html_error_page_as_pep658_metadata_is_not_read_as_no_dependencies(index: FakeIndex, http: Http) -> None:
    url = index.add_wheel("demo", "1.0", ("six",))
    index.serve("/files/demo-1.0-py2.py3-none-any.whl.metadata",
                Served(b"<html><body>Service Unavailable</body></html>", "text/html"))
    files = release_files(fetch_project_page(http, index.simple_url, "demo"), "demo", "test")
    meta = fetch_metadata(http, files[0])
    assert meta.source == "wheel" and meta.requires_dist == ("six",)  # read from the wheel instead
    assert any(r.startswith("/files/demo-1.0-py2.py3-none-any.whl Range=") for r in index.requests), url


def test_a_wheel_whose_listed_size_is_wrong_is_still_read(index: FakeIndex, http: Http) -> None:
    index.add_wheel("demo", "1.0", ("six",), pep658=False, size=10_000_000)
    files = release_files(fetch_project_page(http, index.simple_url, "demo"), "demo", "test")
    assert fetch_metadata(http, files[0]).requires_dist == ("six",)


# --- offline ----------------------------------------------------------------------------------------------

def test_cli_offline_works_from_the_cache_and_names_what_is_missing(index: FakeIndex) -> None:
    index.add_wheel("demo", "1.0", ("helper>=1",))
    index.add_wheel("helper", "1.2")
    online = run_cli("resolve", "demo", "--index", index.simple_url, "--format", "json")
    assert online.exit_code == 0, online.output
    asked = len(index.requests)
    offline = run_cli("--offline", "resolve", "demo", "--index", index.simple_url, "--format", "json")
    assert offline.exit_code == 0, offline.output
    assert json.loads(offline.stdout)["packages"] == json.loads(online.stdout)["packages"]
    assert len(index.requests) == asked
    missing = run_cli("--offline", "resolve", "other", "--index", index.simple_url)
    assert_clean_failure(missing, (1,), "offline, and not in the cache", index.url("/simple/other/"))
    assert len(index.requests) == asked


def test_a_server_error_while_the_cache_is_stale_serves_the_cache(index: FakeIndex, tmp_path: Path) -> None:
    answers = iter([Response("fresh", headers={"Cache-Control": "max-age=0", "ETag": "\"v1\""}),
                    Response("down", status=500)])
    index.serve("/page", lambda request: next(answers, Response("down", status=500)))
    http = Http(tmp_path / "http", retries=0)
    assert http.get(index.url("/page")).text == "fresh"
    assert http.get(index.url("/page")).text == "fresh"


# --- caches that cannot be used ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content"), [("http.sqlite", b"not a database" * 100),
                                               ("metadata.sqlite", b"not a database" * 100), ("metadata.sqlite", None)])
def test_cli_a_corrupt_or_foreign_cache_is_named(index: FakeIndex, isolated_environment: Path, name: str,
                                                 content: bytes | None) -> None:
    index.add_wheel("demo", "1.0")
    isolated_environment.mkdir(parents=True, exist_ok=True)
    path = isolated_environment / name
    if content is None:  # a SQLite file with a table of that name, but not depgraph's
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE metadata (a INTEGER)")
        connection.commit()
        connection.close()
    else:
        path.write_bytes(content)
    result = run_cli("resolve", "demo", "--index", index.simple_url)
    assert_clean_failure(result, (1,), f"the cache {path} cannot be used", "DEPGRAPH_CACHE_DIR")
    assert path.exists()  # named, not deleted


def test_cli_a_cache_directory_that_is_a_file(index: FakeIndex, isolated_environment: Path) -> None:
    index.add_wheel("demo", "1.0")
    isolated_environment.write_text("a file where the cache directory should be")
    result = run_cli("resolve", "demo", "--index", index.simple_url)
    assert_clean_failure(result, (1,), "cannot be used", "DEPGRAPH_CACHE_DIR")
