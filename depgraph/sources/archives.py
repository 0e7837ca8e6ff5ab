"""Read one metadata member out of a remote wheel or sdist without downloading more than needed.

Wheels (and zip sdists) are read through HTTP range requests on the zip's central directory, like
pip's lazy wheel; tar sdists are streamed and left as soon as the wanted members are seen. Nothing
is extracted to disk and no package code is run. Reads are capped in size and member count.
"""

from __future__ import annotations

import io
import re
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from depgraph.sources.http import BodyTooLarge, Http

if TYPE_CHECKING:
    import requests

CHUNK = 64 * 1024
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_MEMBERS = 100_000
MAX_SDIST_BYTES = 128 * 1024 * 1024
_CONTENT_RANGE_TOTAL = re.compile(r"/(\d+)\s*$")
RANGE_NOT_SATISFIABLE = 416
# what zipfile and tarfile raise on archives that lie about themselves (encrypted members raise RuntimeError)
_ARCHIVE_ERRORS = (zipfile.BadZipFile, tarfile.TarError, NotImplementedError, OSError, EOFError, ValueError,
                   RuntimeError, struct.error, zlib.error)


class ArchiveError(Exception):
    """The archive is not what its name says, or is over a safety cap."""


class RangeFile(io.RawIOBase):
    """A read-only file over HTTP range requests, fetching aligned chunks on demand and keeping them."""

    def __init__(self, http: Http, url: str, size: int) -> None:
        super().__init__()
        self.http = http
        self.url = url
        self.size = size
        self.chunks: dict[int, bytes] = {}
        self.position = 0
        self.whole: bytes | None = None  # set when the server ignored Range and sent everything

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.position + n)
        data = self._range(self.position, end)
        self.position = end
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _range(self, start: int, end: int) -> bytes:
        if self.whole is not None:
            return self.whole[start:end]
        first, last = start // CHUNK, max(start, end - 1) // CHUNK
        self._fetch([i for i in range(first, last + 1) if i not in self.chunks])
        if self.whole is not None:
            return self.whole[start:end]
        joined = b"".join(self.chunks[i] for i in range(first, last + 1))
        return joined[start - first * CHUNK : end - first * CHUNK]

    def _fetch(self, missing: list[int]) -> None:
        if not missing:
            return
        lo, hi = missing[0] * CHUNK, min(self.size, (missing[-1] + 1) * CHUNK) - 1
        response = _get_archive(self.http, self.url, {"Range": f"bytes={lo}-{hi}"})
        if response.status_code == 404:
            raise ArchiveError(f"{self.url}: the index lists this file but answers 404")
        if response.status_code == RANGE_NOT_SATISFIABLE:
            raise _RangeRefused(f"{self.url}: bytes {lo}-{hi} are past its end (is the index's size right?)")
        body = response.content
        if response.status_code == 200:  # the server ignored Range: we have the whole file
            self.whole = body
            self.size = len(body)
            return
        for i in range(missing[0], missing[-1] + 1):
            self.chunks[i] = body[(i - missing[0]) * CHUNK : (i - missing[0] + 1) * CHUNK]


class _RangeRefused(ArchiveError):
    """The server answered 416: the size the index gave is wrong."""


def open_remote_zip(http: Http, url: str, size: int | None) -> zipfile.ZipFile:
    """A ZipFile over range requests; only the tail and the members read are fetched.

    A size that is missing, or that the server refuses, is asked of the server.
    """
    if size is None or size <= 0:
        size = _remote_size(http, url)
    remote = RangeFile(http, url, size)
    try:
        remote._fetch(_tail_chunks(size))  # the central directory
    except _RangeRefused:
        size = _remote_size(http, url)
        remote = RangeFile(http, url, size)
        remote._fetch(_tail_chunks(size))
    try:
        archive = zipfile.ZipFile(io.BufferedReader(remote, buffer_size=CHUNK))
    except _ARCHIVE_ERRORS as exc:
        raise ArchiveError(f"{url} is not a zip archive ({exc})") from exc
    if len(archive.infolist()) > MAX_MEMBERS:
        raise ArchiveError(f"{url} has more than {MAX_MEMBERS} members")
    return archive


def _tail_chunks(size: int) -> list[int]:
    return list(range(max(0, (size - 1) // CHUNK - 1), (size - 1) // CHUNK + 1))


def _get_archive(http: Http, url: str, headers: dict[str, str] | None = None) -> requests.Response:
    """GET (part of) an archive under the archive cap; an archive over it has unknown metadata."""
    try:
        return http.get(url, headers=headers, ok=(200, 206, RANGE_NOT_SATISFIABLE), max_bytes=MAX_SDIST_BYTES)
    except BodyTooLarge as exc:
        raise ArchiveError(exc.message) from exc


def _remote_size(http: Http, url: str) -> int:
    response = _get_archive(http, url, {"Range": f"bytes=0-{CHUNK - 1}"})
    match = _CONTENT_RANGE_TOTAL.search(response.headers.get("Content-Range", ""))
    if response.status_code == 206 and match:
        return int(match.group(1))
    return len(response.content)


def read_zip_member(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ArchiveError(f"member {name} is {info.file_size} bytes, over the {MAX_MEMBER_BYTES} cap")
    try:
        return archive.read(info)
    except _ARCHIVE_ERRORS as exc:
        raise ArchiveError(f"member {name} cannot be read ({exc})") from exc


def wheel_metadata(http: Http, url: str, size: int | None) -> bytes:
    """The bytes of ``*.dist-info/METADATA`` of a remote wheel."""
    archive = open_remote_zip(http, url, size)
    names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(names) != 1:
        raise ArchiveError(f"{url}: expected one .dist-info/METADATA, found {len(names)}")
    return read_zip_member(archive, names[0])


@dataclass(frozen=True)
class SdistMetadata:
    """What an sdist says of itself: its PKG-INFO, and setuptools' egg-info files if present."""

    pkg_info: bytes | None
    egg_info_pkg_info: bytes | None
    requires_txt: bytes | None


def _sdist_role(name: str) -> str | None:
    """Which metadata member ``name`` is: only members one or two levels below the top directory count."""
    parts = name.strip("/").split("/")
    if len(parts) == 2 and parts[1] == "PKG-INFO":
        return "pkg_info"
    if len(parts) == 3 and parts[1].endswith(".egg-info") and parts[2] in ("PKG-INFO", "requires.txt"):
        return "egg_info_pkg_info" if parts[2] == "PKG-INFO" else "requires_txt"
    if len(parts) == 4 and parts[1] == "src" and parts[2].endswith(".egg-info") and parts[3] == "requires.txt":
        return "requires_txt"
    return None


def sdist_metadata(http: Http, url: str, size: int | None, filename: str) -> SdistMetadata:
    """PKG-INFO and egg-info/requires.txt of a remote sdist, reading no other member's content."""
    if filename.endswith(".zip"):
        archive = open_remote_zip(http, url, size)
        found = {}
        for name in archive.namelist():
            role = _sdist_role(name)
            if role and role not in found:
                found[role] = read_zip_member(archive, name)
        return SdistMetadata(found.get("pkg_info"), found.get("egg_info_pkg_info"), found.get("requires_txt"))
    if size is not None and size > MAX_SDIST_BYTES:
        raise ArchiveError(f"{url} is {size} bytes, over the {MAX_SDIST_BYTES} cap for sdists")
    response = _get_archive(http, url)
    if response.status_code == 404:
        raise ArchiveError(f"{url}: the index lists this file but answers 404")
    return _read_tar_metadata(response.content, url)


def _read_tar_metadata(body: bytes, url: str) -> SdistMetadata:
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r|*") as archive:
            for count, member in enumerate(archive):
                if count > MAX_MEMBERS:
                    raise ArchiveError(f"{url} has more than {MAX_MEMBERS} members")
                role = _sdist_role(member.name)
                if not role or role in found or not member.isfile():
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    raise ArchiveError(f"{url}: member {member.name} is over the size cap")
                handle = archive.extractfile(member)
                found[role] = handle.read() if handle else b""
                if len(found) == 3:
                    break
    except _ARCHIVE_ERRORS as exc:
        raise ArchiveError(f"{url} is not a readable tar archive ({exc})") from exc
    return SdistMetadata(found.get("pkg_info"), found.get("egg_info_pkg_info"), found.get("requires_txt"))
