"""One HTTP client for every index: timeouts, bounded retries, a size cap, a persistent cache, an offline mode.

The cache is requests-cache's SQLite backend under the user cache directory. It honours the
servers' caching headers; range requests and content negotiation are part of the cache key.

Every failure becomes :class:`IndexUnavailable` naming the URL and the cause (refused, timed out, cut short,
too many redirects, over the size cap, an HTTP status). Bodies are read under the cap before anything keeps
them, so an endless or oversize answer is refused without being held in memory. ``DEPGRAPH_HTTP_TIMEOUT``
(seconds to wait for an answer), ``DEPGRAPH_HTTP_RETRIES`` and ``DEPGRAPH_HTTP_MAX_BYTES`` override the defaults.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import requests_cache
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

from depgraph import __version__
from depgraph.errors import BadInput, IndexUnavailable
from depgraph.sources.paths import cache_dir, cache_error

USER_AGENT = f"depgraph/{__version__}"
DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read
DEFAULT_RETRIES = 3
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # Simple pages, JSON and metadata; archives ask for their own cap
MAX_WAIT = 30.0  # the longest pause between retries, whatever Retry-After says
RETRY_STATUSES = (429, 500, 502, 503, 504)
OFFLINE_STATUS = 504  # what requests-cache answers for an uncached request in only-if-cached mode
READ_CHUNK = 64 * 1024
TIMEOUT_ENV = "DEPGRAPH_HTTP_TIMEOUT"
RETRIES_ENV = "DEPGRAPH_HTTP_RETRIES"
MAX_BYTES_ENV = "DEPGRAPH_HTTP_MAX_BYTES"


class _BoundedRetry(Retry):
    """urllib3's Retry, with a server's ``Retry-After`` capped at ``backoff_max`` (a retry must not hang)."""

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.backoff_max)


class ResponseTooLarge(requests.exceptions.RequestException):
    """A body over the cap (declared by Content-Length, or found while reading it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than the {limit:,}-byte cap")
        self.limit = limit


class BodyTooLarge(IndexUnavailable):
    """The answer is over the size cap: for an archive that means unknown metadata, not a failed index."""


def _retrying_adapter(retries: int, backoff: float, max_wait: float) -> HTTPAdapter:
    retry = _BoundedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        redirect=10,
        backoff_factor=backoff,
        backoff_max=max_wait,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    return HTTPAdapter(max_retries=retry, pool_maxsize=16)


def _env_number(name: str, default: float, convert: Callable[[str], float]) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = convert(text)
    except ValueError:
        value = -1
    if value < 0:
        raise BadInput(f"{name}={text!r} is not a non-negative number", f"unset {name} or give e.g. 30")
    return value


def settings_from_environment() -> tuple[tuple[float, float], int, int]:
    """(connect, read) timeout, retries and the body cap, from the environment or the defaults."""
    read = _env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT[1], float)
    timeout = (min(DEFAULT_TIMEOUT[0], read), read) if os.environ.get(TIMEOUT_ENV) else DEFAULT_TIMEOUT
    retries = int(_env_number(RETRIES_ENV, DEFAULT_RETRIES, int))
    max_bytes = int(_env_number(MAX_BYTES_ENV, DEFAULT_MAX_BYTES, int))
    return timeout, retries, max_bytes


class Http:
    """A cached, retrying HTTP client; ``get`` raises :class:`IndexUnavailable` with the URL and cause.

    Settings left as ``None`` come from the environment (see the module docstring), else the defaults.
    """

    def __init__(
        self,
        cache_path: Path | None = None,
        *,
        offline: bool = False,
        use_cache: bool = True,
        timeout: tuple[float, float] | None = None,
        retries: int | None = None,
        backoff: float = 0.5,
        max_bytes: int | None = None,
        max_wait: float = MAX_WAIT,
    ) -> None:
        env_timeout, env_retries, env_max_bytes = settings_from_environment()
        self.offline = offline
        self.timeout = timeout or env_timeout
        self.retries = env_retries if retries is None else retries
        self.backoff = backoff
        self.max_bytes = env_max_bytes if max_bytes is None else max_bytes
        self.cache_path = cache_path or cache_dir() / "http"
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            self.session = requests_cache.CachedSession(
                str(self.cache_path),
                backend="sqlite",
                cache_control=True,
                expire_after=0 if not use_cache else -1,
                allowable_codes=(200, 206),
                match_headers=["Accept", "Range"],
                only_if_cached=offline,
                stale_if_error=True,
                disabled=not use_cache,
            )
        except (sqlite3.Error, OSError) as exc:
            raise cache_error(self.cache_path.with_suffix(".sqlite"), exc) from exc
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = _retrying_adapter(self.retries, backoff, max_wait)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.response_hooks: list[Callable[[requests.Response], None]] = []

    def get(self, url: str, headers: dict[str, str] | None = None, ok: tuple[int, ...] = (200,),
            max_bytes: int | None = None) -> requests.Response:
        """GET ``url``; return the response when its status is in ``ok`` (404 is returned too).

        The body may be at most ``max_bytes`` (default: the client's cap); a body cut short is asked for again,
        as often as a failed connection is.
        """
        response = self._fetch(url, headers or {}, self.max_bytes if max_bytes is None else max_bytes)
        for hook in self.response_hooks:
            hook(response)
        if self.offline and response.status_code == OFFLINE_STATUS:
            what = f"{url} ({headers['Range']})" if headers and "Range" in headers else url
            raise IndexUnavailable(f"offline, and not in the cache: {what}", "run once without --offline")
        if response.status_code in ok or response.status_code == 404:
            return response
        raise self._status_error(url, response)

    def _fetch(self, url: str, headers: dict[str, str], limit: int) -> requests.Response:
        """The response, asking again for a body cut short; any other failure becomes IndexUnavailable."""
        attempt = 0
        while True:
            try:
                return self._send(url, headers, limit)
            except requests.exceptions.RequestException as exc:
                if not _cut_short(exc) or attempt >= self.retries:
                    raise _unavailable(url, exc) from exc
                attempt += 1
                time.sleep(min(self.backoff * (attempt - 1), MAX_WAIT))

    def _status_error(self, url: str, response: requests.Response) -> IndexUnavailable:
        status = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
        retried = self.retries and response.status_code in RETRY_STATUSES
        return IndexUnavailable(f"{url}: {status}{f', still after {self.retries} retries' if retried else ''}",
                                "try again later, or check the index URL")

    def _send(self, url: str, headers: dict[str, str], limit: int) -> requests.Response:
        def capped(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
            return read_capped(response, limit)

        try:
            return self.session.get(url, headers=headers, timeout=self.timeout, hooks={"response": [capped]})
        except sqlite3.Error as exc:  # the cache broke under us: disk full, a file replaced
            raise cache_error(self.cache_path.with_suffix(".sqlite"), exc) from exc

    def close(self) -> None:
        self.session.close()


def read_capped(response: requests.Response, limit: int) -> requests.Response:
    """Read the body of ``response`` now, refusing it once it exceeds ``limit`` bytes (decoded).

    A requests response hook: it runs before requests or requests-cache read the body, and again on
    answers from the cache, whose body is already there.
    """
    if getattr(response, "from_cache", False) or isinstance(response._content, bytes):  # read before, or cached
        if len(response.content or b"") > limit:
            raise ResponseTooLarge(limit)
        return response
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise ResponseTooLarge(limit)
    body = bytearray()
    for chunk in response.iter_content(READ_CHUNK):
        body += chunk
        if len(body) > limit:
            response.close()
            raise ResponseTooLarge(limit)
    response._content = bytes(body)
    response._content_consumed = True
    return response


def _cut_short(exc: BaseException) -> bool:
    """Whether the body broke off after the headers came (worth asking again), not a refusal or a timeout."""
    return isinstance(exc, requests.exceptions.ChunkedEncodingError) and not _timed_out(exc)


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, requests.exceptions.Timeout) or any(
        isinstance(e, ReadTimeoutError | TimeoutError) for e in _chain(exc))


def _unavailable(url: str, exc: requests.exceptions.RequestException) -> IndexUnavailable:
    """The one-line error for a request that failed: the URL, what went wrong, and what to do."""
    if isinstance(exc, ResponseTooLarge):
        return BodyTooLarge(f"{url}: the response is {exc}", f"refusing to read it; raise {MAX_BYTES_ENV} "
                            "if the index is right")
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return IndexUnavailable(f"{url}: too many redirects (a redirect loop?)", "check the index URL")
    if _timed_out(exc):
        return IndexUnavailable(f"{url}: timed out ({_cause(exc)})", f"try again, raise {TIMEOUT_ENV}, or use "
                                "--offline")
    if isinstance(exc, requests.exceptions.RetryError):
        return IndexUnavailable(f"{url}: gave up after retries ({_cause(exc)})", "try again later")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError) or any(
            isinstance(e, ProtocolError) for e in _chain(exc)):
        return IndexUnavailable(f"{url}: the response was cut short ({_cause(exc)})", "try again later")
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return IndexUnavailable(f"{url}: the response cannot be decoded ({_cause(exc)})", "check the index URL")
    if isinstance(exc, requests.exceptions.InvalidSchema | requests.exceptions.InvalidURL |
                  requests.exceptions.MissingSchema):
        return IndexUnavailable(f"{url}: not a URL depgraph can fetch ({_cause(exc)})", "check the index URL")
    return IndexUnavailable(f"{url}: cannot connect ({_cause(exc)})", "check the network")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (urllib3's reason, the cause or context, a wrapped argument), outermost first."""
    chain = [exc]
    while len(chain) < 20:
        current = chain[-1]
        reason = getattr(current, "reason", None)
        wrapped = [a for a in current.args if isinstance(a, BaseException)]
        following = next((e for e in (reason if isinstance(reason, BaseException) else None,
                                      current.__cause__, current.__context__, *wrapped)
                          if e is not None and not any(e is c for c in chain)), None)
        if following is None:
            break
        chain.append(following)
    return chain


def _cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 exception, in a few words, on one line."""
    inner = _chain(exc)[-1]
    text = " ".join((str(inner) or type(inner).__name__).split())
    return text.split(": ", 1)[-1][:160]
