"""HTTP fetching: conditional GET, timeouts, a body cap, and one name for every outcome.

``Fetcher.get`` never raises for a network or HTTP problem: it returns a ``FetchResult``
whose ``outcome`` says what happened, so one bad feed or page never stops a cycle.
The ``httpx.Client`` is passed in (or built from ``FetchSettings``), so tests hand in a
client pointed at their own local servers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime

import httpx

from . import PROJECT_URL, __version__
from .config import FetchSettings
from .decode import BodyDecoder, BodyTooLarge, UnsupportedEncoding, accept_encoding
from .guard import BlockedAddress, exempt, resolve_checked
from .netguard import (
    GuardedBackend,
    Resolver,
    environment_proxies,
    guarded_transport,
    proxy_for,
    proxy_host_port,
)
from .types import FetchResult

OUTCOMES = (
    "ok",
    "blocked_address",
    "not_modified",
    "timeout",
    "too_large",
    "unsupported_encoding",
    "redirect_loop",
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


MAX_RETRY_AFTER = 6 * 3600.0
"""The longest ``Retry-After`` a feed server gets: a longer one is cut to this (and logged)."""


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


def build_client(
    settings: FetchSettings,
    *,
    proxy: str | None = None,
    resolver: Resolver | None = None,
    verify: object = True,
) -> httpx.Client:
    """A client whose connections go through the address guard (``pipeline.netguard``).

    Through a ``proxy``, only the proxy's own address is opened (and allowed)."""
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.total_timeout,
    )
    allow_hosts = [*settings.allow_hosts, *([proxy_host_port(proxy)] if proxy else [])]
    backend = GuardedBackend(
        allow_private=settings.allow_private_networks,
        allow_hosts=allow_hosts,
        **({"resolver": resolver} if resolver else {}),
    )
    limits = httpx.Limits(max_connections=settings.concurrency * 2)
    return httpx.Client(
        transport=guarded_transport(backend, limits=limits, proxy=proxy, verify=verify),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={
            "User-Agent": settings.user_agent or default_user_agent(),
            "Accept-Encoding": accept_encoding(),
        },
    )


REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT_REDIRECTS = {301, 308}


class HostGate:
    """At most ``limit`` requests at once per host, and starts at least ``delay`` apart."""

    def __init__(self, limit: int, delay: float) -> None:
        self.limit = limit
        self.delay = delay
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def entered(self, host: str, deadline: float) -> Iterator[None]:
        with self._lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(self.limit))
        if not slot.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise httpx.PoolTimeout(f"waited too long for a free slot on {host}")
        try:
            with self._lock:
                start = max(time.monotonic(), self._next_start.get(host, 0.0))
                self._next_start[host] = start + self.delay
            time.sleep(max(start - time.monotonic(), 0))
            yield
        finally:
            slot.release()


class Fetcher:
    """GETs URLs within the limits of ``FetchSettings``; thread-safe.

    Redirects are followed here, hop by hop, so that a loop gets its own outcome and a
    move is reported only when every hop was permanent. Every connection is opened
    through the address guard (``pipeline.netguard``); a target reached through a proxy
    is checked by name first.
    """

    def __init__(
        self,
        settings: FetchSettings,
        client: httpx.Client | None = None,
        *,
        proxies: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or build_client(settings)
        self.proxies = environment_proxies() if proxies is None else proxies
        self._proxied: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()
        self.gate = HostGate(settings.per_host_concurrency, settings.per_host_delay)

    def close(self) -> None:
        self.client.close()
        for client in self._proxied.values():
            client.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        max_bytes: int | None = None,
        user_agent: str | None = None,
    ) -> FetchResult:
        headers = {"Accept": accept}
        if user_agent:
            headers["User-Agent"] = user_agent
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.settings.total_timeout
        try:
            return self._follow(url, headers, max_bytes or self.settings.max_bytes, deadline)
        except BlockedAddress as exc:
            return _failed(url, "blocked_address", f"refused: {exc}")
        except httpx.TimeoutException as exc:
            return _failed(url, "timeout", f"timed out ({type(exc).__name__})")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, _InvalidURL) as exc:
            return _failed(url, "invalid_url", f"invalid URL: {exc}")
        except (httpx.HTTPError, OSError) as exc:
            return _failed(url, "connection_error", _describe(exc))
        except RuntimeError as exc:  # the client was closed: the worker is stopping
            return _failed(url, "stopped", str(exc))

    def _follow(
        self, url: str, headers: dict[str, str], max_bytes: int, deadline: float
    ) -> FetchResult:
        current = url
        visited: set[str] = set()
        permanent: str | None = None
        all_permanent = True
        for _ in range(self.settings.max_redirects + 1):
            visited.add(current)
            target, client = self._route(current)
            with (
                self.gate.entered(target.host, deadline),
                client.stream("GET", target, headers=headers) as response,
            ):
                location = response.headers.get("location")
                if response.status_code in REDIRECTS and location:
                    all_permanent &= response.status_code in PERMANENT_REDIRECTS
                    current = str(target.join(location))
                    permanent = current if all_permanent else None
                    if current in visited:
                        return _failed(url, "redirect_loop", f"redirect loop back to {current}")
                    continue
                return self._read(url, str(target), response, max_bytes, deadline, permanent)
        return _failed(url, "redirect_loop", f"more than {self.settings.max_redirects} redirects")

    def _route(self, url: str) -> tuple[httpx.URL, httpx.Client]:
        """The parsed URL and the client to send it with: direct, or through a proxy
        after the target's addresses passed the guard by name."""
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise _InvalidURL(f"{url!r} is not an http(s) URL")
        proxy = proxy_for(parsed, self.proxies)
        if proxy is None:
            return parsed, self.client
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        free = exempt(
            parsed.host,
            port,
            allow_private=self.settings.allow_private_networks,
            allow_hosts=frozenset(self.settings.allow_hosts),
        )
        resolve_checked(parsed.host, port, allow_private=free)
        with self._lock:
            if proxy not in self._proxied:
                self._proxied[proxy] = build_client(self.settings, proxy=proxy)
            return parsed, self._proxied[proxy]

    def _read(
        self,
        url: str,
        final_url: str,
        response: httpx.Response,
        max_bytes: int,
        deadline: float,
        permanent_redirect: str | None,
    ) -> FetchResult:
        outcome = classify_status(response.status_code)
        common = {
            "url": url,
            "status": response.status_code,
            "final_url": final_url,
            "content_type": response.headers.get("content-type"),
            "permanent_redirect": permanent_redirect,
        }
        if outcome != "ok":
            return FetchResult(
                outcome=outcome,
                error=_status_error(response),
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                **common,
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return FetchResult(
                outcome="too_large", error=f"body of {declared} bytes over the cap", **common
            )
        try:
            body = self._body(response, max_bytes, deadline)
        except BodyTooLarge as exc:
            return FetchResult(outcome="too_large", error=str(exc), **common)
        except UnsupportedEncoding as exc:
            return FetchResult(outcome="unsupported_encoding", error=str(exc), **common)
        except TimeoutError:
            return FetchResult(
                outcome="timeout",
                error=f"took longer than {self.settings.total_timeout:g}s",
                **common,
            )
        return FetchResult(
            outcome="ok",
            body=body,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            **common,
        )

    @staticmethod
    def _body(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
        """The decoded body, read raw off the wire and decoded with a bounded output:
        at most ``max_bytes`` raw and ``max_bytes`` decoded, one encoding layer."""
        decoder = BodyDecoder(response.headers.get("content-encoding"), max_bytes)
        chunks: list[bytes] = []
        received = 0
        for raw in response.iter_raw():
            received += len(raw)
            if received > max_bytes:
                raise BodyTooLarge(f"body over the cap of {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise TimeoutError
            chunks.append(decoder.feed(raw))
        chunks.append(decoder.feed(b""))
        return b"".join(chunks)


class _InvalidURL(ValueError):
    pass


def _failed(url: str, outcome: str, error: str) -> FetchResult:
    return FetchResult(url=url, outcome=outcome, error=error)


def _status_error(response: httpx.Response) -> str | None:
    if response.status_code == 304:
        return None
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def _describe(exc: Exception) -> str:
    cause = exc.__context__ or exc.__cause__
    detail = str(exc) or (str(cause) if cause else "") or type(exc).__name__
    return f"connection failed: {detail}"
