"""One HTTP client for every index: timeouts, bounded retries, a persistent cache, an offline mode.

The cache is requests-cache's SQLite backend under the user cache directory. It honours the
servers' caching headers; range requests and content negotiation are part of the cache key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests
import requests_cache
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from depgraph import __version__
from depgraph.errors import IndexUnavailable
from depgraph.sources.paths import cache_dir

USER_AGENT = f"depgraph/{__version__}"
DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
RETRY_STATUSES = (429, 500, 502, 503, 504)
OFFLINE_STATUS = 504  # what requests-cache answers for an uncached request in only-if-cached mode


def _retrying_adapter(retries: int, backoff: float) -> HTTPAdapter:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        redirect=10,
        backoff_factor=backoff,
        backoff_max=30,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    return HTTPAdapter(max_retries=retry, pool_maxsize=16)


class Http:
    """A cached, retrying HTTP client; ``get`` raises :class:`IndexUnavailable` with the URL and cause."""

    def __init__(
        self,
        cache_path: Path | None = None,
        *,
        offline: bool = False,
        use_cache: bool = True,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.offline = offline
        self.timeout = timeout
        self.max_bytes = max_bytes
        path = cache_path or cache_dir() / "http"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.session = requests_cache.CachedSession(
            str(path),
            backend="sqlite",
            cache_control=True,
            expire_after=0 if not use_cache else -1,
            allowable_codes=(200, 206),
            match_headers=["Accept", "Range"],
            only_if_cached=offline,
            stale_if_error=True,
            disabled=not use_cache,
        )
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = _retrying_adapter(retries, backoff)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.response_hooks: list[Callable[[requests.Response], None]] = []

    def get(self, url: str, headers: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)) -> requests.Response:
        """GET ``url``; return the response when its status is in ``ok`` (404 is returned too)."""
        try:
            response = self.session.get(url, headers=headers or {}, timeout=self.timeout)
        except requests.exceptions.RetryError as exc:
            raise IndexUnavailable(f"{url}: gave up after retries ({_cause(exc)})", "try again later") from exc
        except requests.exceptions.TooManyRedirects as exc:
            raise IndexUnavailable(f"{url}: too many redirects", "check the index URL") from exc
        except requests.exceptions.Timeout as exc:
            raise IndexUnavailable(f"{url}: timed out", "try again, or use --offline") from exc
        except requests.exceptions.RequestException as exc:
            raise IndexUnavailable(f"{url}: cannot connect ({_cause(exc)})", "check the network") from exc
        for hook in self.response_hooks:
            hook(response)
        if self.offline and response.status_code == OFFLINE_STATUS:
            what = f"{url} ({headers['Range']})" if headers and "Range" in headers else url
            raise IndexUnavailable(f"offline, and not in the cache: {what}", "run once without --offline")
        if response.status_code in ok or response.status_code == 404:
            self._check_size(url, response)
            return response
        raise IndexUnavailable(f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip(),
                               "try again later, or check the index URL")

    def _check_size(self, url: str, response: requests.Response) -> None:
        if len(response.content) > self.max_bytes:
            raise IndexUnavailable(f"{url}: response larger than {self.max_bytes} bytes", "refusing to read it")

    def close(self) -> None:
        self.session.close()


def _cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 exception, in a few words."""
    inner: BaseException = exc
    while inner.__context__ is not None or getattr(inner, "reason", None) is not None:
        reason = getattr(inner, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else inner.__context__
        if nxt is None or nxt is inner:
            break
        inner = nxt
    text = str(inner) or type(inner).__name__
    return text.split(": ", 1)[-1][:160]
