"""A small package index served on loopback by pytest-httpserver, built file by file in a test.

It answers PEP 691 JSON Simple pages, files (honouring ``Range``), and PEP 658 ``.metadata``; every request is
logged in ``requests``; anything not added answers 404. Tests of faults and hostile input swap single answers
(``serve``) for broken ones: a page of the wrong shape, a metadata file of garbage, a handler that misbehaves.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PAGE_TYPE = "application/vnd.pypi.simple.v1+json"
UPLOADED = "2020-01-01T00:00:00Z"


@dataclass
class Served:
    """One canned answer."""

    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


def core_metadata(name: str, version: str, requires: tuple[str, ...] = (), extra: str = "") -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             *(f"Requires-Dist: {r}" for r in requires)]
    return ("\n".join(lines) + "\n" + extra).encode()


def wheel_bytes(name: str, version: str, metadata: bytes, members: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in (members or {}).items():
            archive.writestr(member, data)
        archive.writestr(f"{dist_info}/METADATA", metadata)
        archive.writestr(f"{dist_info}/RECORD", b"")
    return buffer.getvalue()


def sdist_bytes(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


class FakeIndex:
    """A Simple index at ``simple_url`` whose projects and files are added by the test."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.routes: dict[str, Served | Handler] = {}
        self.projects: dict[str, list[dict[str, object]]] = {}
        self.requests: list[str] = []
        server.expect_request(re.compile(r"^/")).respond_with_handler(self._handle)

    @property
    def simple_url(self) -> str:
        return self.server.url_for("/simple/")

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def serve(self, path: str, answer: Served | Handler) -> None:
        """Answer ``path`` with ``answer`` (replacing what the index would say)."""
        self.routes[path] = answer

    def add_file(self, project: str, filename: str, body: bytes, *, metadata: bytes | None = None,
                 upload_time: str | None = UPLOADED, url: str | None = None, yanked: bool = False,
                 requires_python: str | None = None, size: int | None = None) -> str:
        """List ``filename`` on ``project``'s page and serve it (and its PEP 658 metadata); returns its URL."""
        path = f"/files/{filename}"
        self.routes[path] = Served(body)
        entry: dict[str, object] = {"filename": filename, "url": url or self.url(path),
                                    "hashes": {"sha256": hashlib.sha256(body).hexdigest()},
                                    "size": len(body) if size is None else size, "upload-time": upload_time,
                                    "yanked": yanked, "requires-python": requires_python}
        if metadata is not None:
            self.routes[path + ".metadata"] = Served(metadata)
            entry["core-metadata"] = {"sha256": hashlib.sha256(metadata).hexdigest()}
        self.add_entry(project, entry)
        return str(entry["url"])

    def add_entry(self, project: str, entry: dict[str, object]) -> None:
        """List a raw PEP 691 file entry on ``project``'s page."""
        name = canonicalize_name(project)
        self.projects.setdefault(name, []).append(entry)
        page = {"meta": {"api-version": "1.1"}, "name": name, "files": self.projects[name]}
        self.routes[f"/simple/{name}/"] = Served(json.dumps(page).encode(), PAGE_TYPE)

    def add_wheel(self, project: str, version: str, requires: tuple[str, ...] = (), *, pep658: bool = True,
                  metadata: bytes | None = None, **options: object) -> str:
        """A pure-Python wheel of ``project`` ``version`` requiring ``requires``."""
        metadata = metadata if metadata is not None else core_metadata(project, version, requires)
        filename = f"{canonicalize_name(project).replace('-', '_')}-{version}-py2.py3-none-any.whl"
        body = wheel_bytes(project, version, metadata)
        return self.add_file(project, filename, body, metadata=metadata if pep658 else None, **options)  # type: ignore[arg-type]

    def _handle(self, request: Request) -> Response:
        path = request.full_path.rstrip("?") if request.query_string else request.path
        range_ = request.headers.get("Range")
        self.requests.append(f"{path} Range={range_}" if range_ else path)
        answer = self.routes.get(path)
        if answer is None:
            return Response("not here\n", status=404, content_type="text/plain")
        if not isinstance(answer, Served):
            return answer(request)
        return _ranged(answer, range_) if range_ and answer.status == 200 else Response(
            answer.body, status=answer.status, headers=answer.headers, content_type=answer.content_type)


def _ranged(answer: Served, range_: str) -> Response:
    match = re.fullmatch(r"bytes=(\d+)-(\d+)", range_)
    size = len(answer.body)
    if match is None or int(match.group(1)) >= size:
        return Response(b"", status=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = int(match.group(1)), min(int(match.group(2)), size - 1)
    return Response(answer.body[start:end + 1], status=206, content_type=answer.content_type,
                    headers={**answer.headers, "Content-Range": f"bytes {start}-{end}/{size}"})
