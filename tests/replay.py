"""A loopback server that replays recorded index responses (see ``fixtures/recording.py``).

Each recorded origin placeholder ``{{name}}`` is served under ``http://127.0.0.1:PORT/_name``; text
bodies have their placeholders replaced by those addresses, so every URL the client follows comes back
here. Requests that were never recorded get a 404 and are listed in ``misses``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
sys.path.insert(0, str(FIXTURES))

from recording import Entry, Recording, is_text  # noqa: E402

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class Replay:
    """Serves one or more recordings from a pytest-httpserver instance."""

    def __init__(self, server: HTTPServer, *folders: Path) -> None:
        self.server = server
        self.base = server.url_for("").rstrip("/")
        self.recordings = [Recording(folder) for folder in folders]
        self.misses: list[str] = []
        self.expected_missing: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        server.expect_request(re.compile(r"^/")).respond_with_handler(self._handle)

    def expect_missing(self, path: str) -> None:
        """Answer 404 for ``path`` without counting it as a miss (for tests of unknown packages)."""
        self.expected_missing.add(path)

    def url(self, name: str) -> str:
        """The loopback origin standing for placeholder ``name``."""
        return f"{self.base}/_{name}"

    def pypi_simple_url(self) -> str:
        return self.url("pypi") + "/simple/"

    def to_loopback(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.url(m.group(1)), text)

    def _lookup(self, url: str, range_: str | None) -> tuple[Recording, Entry] | None:
        for recording in self.recordings:
            entry = recording.entries.get((url, range_))
            if entry is not None:
                return recording, entry
        return None

    def _handle(self, request: Request) -> Response:
        path = request.full_path.rstrip("?") if request.query_string else request.path
        match = re.match(r"^/_(\w+)(/.*)$", path)
        range_ = request.headers.get("Range")
        self.requests.append((path, range_))
        found = self._lookup("{{" + match.group(1) + "}}" + match.group(2), range_) if match else None
        if found is None:
            if path not in self.expected_missing:
                self.misses.append(f"{path} Range={range_}")
            return Response("not recorded\n", status=404, content_type="text/plain")
        recording, entry = found
        body = recording.body(entry)
        if is_text(entry.headers):
            body = self.to_loopback(body.decode("utf-8")).encode("utf-8")
        headers = {k: v for k, v in entry.headers.items() if k != "content-type"}
        return Response(body, status=entry.status, headers=headers, content_type=entry.headers.get("content-type"))
