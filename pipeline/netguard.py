"""The address guard where connections are opened: an httpcore network backend.

``GuardedBackend.connect_tcp`` resolves the host, keeps the addresses the pure guard
(``pipeline.guard``) allows, and connects to the first of them that answers, trying the
next when one is refused or times out. URLs are never rewritten: the ``Host`` header,
TLS SNI and the certificate check all use the host name, and httpcore pools connections
by host name, so a connection verified for ``a.test`` is never reused for ``b.test``.

Proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, read once when the
fetcher starts): the operator chose the proxy, so its own address is allowed (it is
often on a private network). The target is checked by name before the request goes to
the proxy: every address it resolves to must be allowed. The proxy resolves the name
again, so a name that changes its answer between the two look-ups is the proxy's to
police; set no proxy variables when the guard must hold on its own.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterable, Mapping

import httpcore
import httpx

from .guard import BlockedAddress, IPAddress, allowed_addresses, exempt, resolve

Resolver = Callable[[str, int], list[IPAddress]]


class GuardedBackend(httpcore.NetworkBackend):
    """The default sync backend, behind the address guard."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_hosts: Iterable[str] = (),
        resolver: Resolver = resolve,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.allow_hosts = frozenset(host.lower() for host in allow_hosts)
        self.resolver = resolver
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        free = exempt(host, port, allow_private=self.allow_private, allow_hosts=self.allow_hosts)
        addresses = allowed_addresses(host, self.resolver(host, port), exempt=free)
        failure: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # allowed_addresses never returns an empty list
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress(f"unix socket {path}: not a network address")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def guarded_transport(
    backend: GuardedBackend,
    *,
    limits: httpx.Limits,
    proxy: str | None = None,
    verify: object = True,
) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` (direct, or through ``proxy``) opening its connections
    through ``backend``."""
    transport = httpx.HTTPTransport(limits=limits, proxy=proxy, verify=verify)  # type: ignore[arg-type]
    # httpx does not take a network backend; its pool (ConnectionPool or HTTPProxy) does.
    transport._pool._network_backend = backend
    return transport


def environment_proxies() -> dict[str, str]:
    """``{"http": url, "https": url}`` from the proxy environment variables."""
    found = urllib.request.getproxies_environment()
    every = found.get("all")
    return {
        scheme: found.get(scheme) or every
        for scheme in ("http", "https")
        if found.get(scheme) or every
    }


def proxy_for(url: httpx.URL, proxies: Mapping[str, str]) -> str | None:
    """The proxy a request to ``url`` goes through, or ``None`` (none set, or NO_PROXY)."""
    proxy = proxies.get(url.scheme)
    if proxy is None or urllib.request.proxy_bypass_environment(url.host):
        return None
    return proxy


def proxy_host_port(proxy: str) -> str:
    parsed = httpx.URL(proxy)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"
