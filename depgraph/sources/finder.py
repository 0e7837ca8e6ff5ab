"""The resolver's window on the world: all files of a project across the configured indexes, and a file's
dependencies. Fetches run on a small thread pool so the resolver can ask for what it will need next.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from threading import Lock
from urllib.parse import urljoin

from packaging.utils import NormalizedName, canonicalize_name

from depgraph.errors import UnknownPackage
from depgraph.sources.http import Http
from depgraph.sources.metadata import CoreMetadata, MetadataCache, fetch_metadata
from depgraph.sources.piwheels import fetch_piwheels_project, piwheels_release_files
from depgraph.sources.simple import ReleaseFile, fetch_project_page, release_files


@dataclass(frozen=True)
class Index:
    """One Simple index: a short name (``pypi``, ``piwheels`` or the URL) and its Simple API base URL."""

    name: str
    simple_url: str


class IndexFinder:
    """Project files from one or more Simple indexes (merged in order, as pip does) and their metadata."""

    def __init__(self, http: Http, indexes: Iterable[Index], cache: MetadataCache | None = None,
                 workers: int = 8) -> None:
        self.http = http
        self.indexes = tuple(indexes)
        self.cache = cache
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="depgraph-fetch")
        self._lock = Lock()
        self._pages: dict[NormalizedName, Future[list[ReleaseFile]]] = {}
        self._metadata: dict[str, Future[CoreMetadata]] = {}

    def prefetch(self, names: Iterable[str]) -> None:
        """Start fetching these projects' pages in the background."""
        for name in names:
            self._page_future(canonicalize_name(name))

    def files(self, name: str) -> list[ReleaseFile]:
        """Every wheel and sdist of ``name`` on every index; raises UnknownPackage if no index has it."""
        return self._page_future(canonicalize_name(name)).result()

    def prefetch_metadata(self, file: ReleaseFile) -> None:
        self._metadata_future(file)

    def metadata(self, file: ReleaseFile) -> CoreMetadata:
        return self._metadata_future(file).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _page_future(self, name: NormalizedName) -> Future[list[ReleaseFile]]:
        with self._lock:
            if name not in self._pages:
                self._pages[name] = self._pool.submit(self._fetch_files, name)
            return self._pages[name]

    def _metadata_future(self, file: ReleaseFile) -> Future[CoreMetadata]:
        with self._lock:
            if file.url not in self._metadata:
                self._metadata[file.url] = self._pool.submit(fetch_metadata, self.http, file, self.cache)
            return self._metadata[file.url]

    def _index_files(self, index: Index, name: NormalizedName) -> list[ReleaseFile]:
        """piwheels' Simple pages carry no upload times, so its files come from its JSON API instead."""
        if index.name == "piwheels":
            site = urljoin(index.simple_url, "..")
            return piwheels_release_files(fetch_piwheels_project(self.http, site, name), site)
        return release_files(fetch_project_page(self.http, index.simple_url, name), name, index.name)

    def _fetch_files(self, name: NormalizedName) -> list[ReleaseFile]:
        found: list[ReleaseFile] = []
        missing: list[str] = []
        for index in self.indexes:
            try:
                found.extend(self._index_files(index, name))
            except UnknownPackage:
                missing.append(index.name)
        if len(missing) == len(self.indexes):
            where = ", ".join(i.name for i in self.indexes)
            raise UnknownPackage(f"no project {name!r} on {where}", "check the name's spelling")
        return found
