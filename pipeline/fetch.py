"""HTTP fetching: conditional GET, timeouts, a body cap, and one name for every outcome.

``Fetcher.get`` never raises for a network or HTTP problem: it returns a ``FetchResult``
whose ``outcome`` says what happened, so one bad feed or page never stops a cycle.
The ``httpx.Client`` is passed in (or built from ``FetchSettings``), so tests hand in a
client pointed at their own local servers.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx

from . import PROJECT_URL, __version__
from .config import FetchSettings
from .types import FetchResult

OUTCOMES = (
    "ok",
    "not_modified",
    "timeout",
    "too_large",
    "connection_error",
    "invalid_url",
    "not_found",
    "gone",
    "rate_limited",
    "http_4xx",
    "http_5xx",
    "not_a_feed",
    "parse_error",
)
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    reference = now if now is not None else time.time()
    return max(when.timestamp() - reference, 0.0)


def default_user_agent() -> str:
    return f"wirewatch/{__version__} (+{PROJECT_URL})"


def classify_status(status: int) -> str:
    """Map an HTTP status to a fetch outcome."""
    if 200 <= status < 300:
        return "ok"
    if status == 304:
        return "not_modified"
    if status == 404:
        return "not_found"
    if status == 410:
        return "gone"
    if status == 429:
        return "rate_limited"
    if 500 <= status < 600:
        return "http_5xx"
    return "http_4xx"


def build_client(settings: FetchSettings) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout,
    )
    limits = httpx.Limits(max_connections=settings.concurrency * 2)
    return httpx.Client(
        timeout=timeout,
        limits=limits,
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": settings.user_agent or default_user_agent()},
    )


class Fetcher:
    """GETs one URL at a time, within the limits of ``FetchSettings``; thread-safe."""

    def __init__(self, settings: FetchSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or build_client(settings)

    def close(self) -> None:
        self.client.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        max_bytes: int | None = None,
    ) -> FetchResult:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            return self._stream(url, headers, max_bytes or self.settings.max_bytes)
        except httpx.TimeoutException as exc:
            return _failed(url, "timeout", f"timed out ({type(exc).__name__})")
        except httpx.TooManyRedirects:
            return _failed(url, "http_4xx", "too many redirects")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return _failed(url, "invalid_url", f"invalid URL: {exc}")
        except httpx.HTTPError as exc:
            return _failed(url, "connection_error", _describe(exc))

    def _stream(self, url: str, headers: dict[str, str], max_bytes: int) -> FetchResult:
        deadline = time.monotonic() + self.settings.total_timeout
        with self.client.stream("GET", url, headers=headers) as response:
            outcome = classify_status(response.status_code)
            common = {
                "url": url,
                "status": response.status_code,
                "final_url": str(response.url),
                "content_type": response.headers.get("content-type"),
            }
            if outcome != "ok":
                return FetchResult(outcome=outcome, error=_status_error(response), **common)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                return FetchResult(
                    outcome="too_large", error=f"body of {declared} bytes over the cap", **common
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    return FetchResult(
                        outcome="too_large",
                        error=f"body over the cap of {max_bytes} bytes",
                        **common,
                    )
                if time.monotonic() > deadline:
                    return FetchResult(
                        outcome="timeout",
                        error=f"took longer than {self.settings.total_timeout:g}s",
                        **common,
                    )
                chunks.append(chunk)
            return FetchResult(
                outcome="ok",
                body=b"".join(chunks),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                **common,
            )


def _failed(url: str, outcome: str, error: str) -> FetchResult:
    return FetchResult(url=url, outcome=outcome, error=error)


def _status_error(response: httpx.Response) -> str | None:
    if response.status_code == 304:
        return None
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def _describe(exc: httpx.HTTPError) -> str:
    cause = exc.__context__ or exc.__cause__
    detail = str(exc) or (str(cause) if cause else "") or type(exc).__name__
    return f"connection failed: {detail}"
