"""Hostile bytes and the connection-time address guard, against real local servers.

Bombs are measured by the peak memory of a child process, not only by the outcome. The
guard is only ever exercised on loopback (with ``allow_hosts`` exemptions); what it
refuses is tested as pure functions in test_guard_and_health.py.
"""

from __future__ import annotations

import gzip
import ipaddress
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import brotli
import pytest
import trustme

from bench.bombs import make_bombs, measure, serving
from pipeline.config import FetchSettings
from pipeline.decode import BodyDecoder, BodyTooLarge, UnsupportedEncoding, accept_encoding
from pipeline.fetch import Fetcher, build_client
from pipeline.guard import IPAddress
from tests.conftest import LocalServer, rss

BOMB_MIB = 128
CAP = 4 << 20
HEADROOM_KIB = 32 * 1024
"""A bomb may cost at most this much more than fetching a tiny page (the cap is 4 MiB)."""


@pytest.fixture(scope="module")
def bomb_server() -> Iterator[tuple[str, list[str]]]:
    bombs = make_bombs(BOMB_MIB)
    with serving(bombs) as base:
        yield base, list(bombs)


@pytest.mark.parametrize("name", ["br", "gzip", "deflate", "gzip, gzip"])
def test_bombs_stay_within_the_cap_in_memory(bomb_server: tuple[str, list[str]], name: str) -> None:
    base, names = bomb_server
    baseline = measure(f"{base}/{names.index('plain')}", CAP)
    found = measure(f"{base}/{names.index(name)}", CAP)
    assert baseline["outcome"] == "ok"
    assert found["outcome"] in ("too_large", "unsupported_encoding")
    grown = int(found["peak_kib"]) - int(baseline["peak_kib"])  # type: ignore[call-overload]
    assert grown < HEADROOM_KIB, f"{name}: peak RSS grew by {grown // 1024} MiB"


def test_stacked_encodings_are_refused() -> None:
    with pytest.raises(UnsupportedEncoding, match="stacked"):
        BodyDecoder("gzip, gzip", 1000)
    with pytest.raises(UnsupportedEncoding, match="zstd"):
        BodyDecoder("zstd", 1000)


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-15)),
        ("br", brotli.compress),
        ("identity", bytes),
    ],
)
def test_decoder_round_trips_and_caps_output(encoding: str, pack) -> None:  # type: ignore[no-untyped-def]
    data = b"wirewatch " * 50_000
    packed = pack(data)
    decoder = BodyDecoder(encoding, len(data))
    decoded = b"".join(decoder.feed(packed[i : i + 100]) for i in range(0, len(packed), 100))
    assert decoded + decoder.feed(b"") == data
    small = BodyDecoder(encoding, len(data) // 3)
    with pytest.raises(BodyTooLarge):
        for i in range(0, len(packed), 100):
            small.feed(packed[i : i + 100])
            assert small.size <= len(data) // 3


def test_only_bounded_encodings_are_advertised(http_server: LocalServer) -> None:
    settings = FetchSettings(allow_private_networks=True, per_host_delay=0)
    fetcher = Fetcher(settings, proxies={})
    try:
        assert fetcher.get(http_server.add("/feed", rss([]))).ok
    finally:
        fetcher.close()
    sent = http_server.requests["/feed"][0]["Accept-Encoding"]
    assert sent == accept_encoding() == "gzip, deflate, br"


# --------------------------------------------------------------------------- guard


def loopback_resolver(names: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in names.get(host, [host])]

    return resolve


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[int]:
    """HTTPS on 127.0.0.1 with a certificate for a.test only."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = rss([]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("a.test").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda *args: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_tls_is_verified_per_host_name_not_per_address(ca: trustme.CA, tls_server: int) -> None:
    port = tls_server
    settings = FetchSettings(
        allow_hosts=[f"a.test:{port}", f"b.test:{port}"], per_host_delay=0, total_timeout=5
    )
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    resolver = loopback_resolver({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]})
    client = build_client(settings, resolver=resolver, verify=verify)
    fetcher = Fetcher(settings, client, proxies={})
    try:
        assert fetcher.get(f"https://a.test:{port}/feed").ok
        refused = fetcher.get(f"https://b.test:{port}/feed")
    finally:
        fetcher.close()
    assert refused.outcome == "connection_error"
    assert "certificate" in (refused.error or "").lower()


def test_the_next_address_is_tried_when_one_refuses(http_server: LocalServer) -> None:
    port = int(http_server.base.rsplit(":", 1)[1])
    url = http_server.add("/feed", rss([])).replace("127.0.0.1", "two.test")
    settings = FetchSettings(allow_hosts=[f"two.test:{port}"], per_host_delay=0)
    resolver = loopback_resolver({"two.test": ["127.0.0.2", "127.0.0.1"]})
    fetcher = Fetcher(settings, build_client(settings, resolver=resolver), proxies={})
    try:
        result = fetcher.get(url)
    finally:
        fetcher.close()
    assert result.ok, result.error
    assert http_server.requests["/feed"][0]["Host"] == f"two.test:{port}"


def test_loopback_is_refused_at_connection_time_without_an_exemption(
    http_server: LocalServer,
) -> None:
    url = http_server.add("/feed", rss([]))
    fetcher = Fetcher(FetchSettings(per_host_delay=0), proxies={})
    try:
        result = fetcher.get(url)
    finally:
        fetcher.close()
    assert result.outcome == "blocked_address" and "loopback" in (result.error or "")
    assert "/feed" not in http_server.requests


class _ForwardProxy(BaseHTTPRequestHandler):
    """A plain-HTTP forward proxy: absolute-URI requests, answered by fetching them."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        host, port = self.headers["Host"].rsplit(":", 1)
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as upstream:
            path = "/" + self.path.split("/", 3)[3]
            upstream.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
            reply = b"".join(iter(lambda: upstream.recv(65536), b""))
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def forward_proxy() -> Iterator[str]:
    _ForwardProxy.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_proxy_is_allowed_and_the_target_is_checked_by_name(
    http_server: LocalServer, forward_proxy: str
) -> None:
    url = http_server.add("/feed", rss([]))
    target = url.split("/")[2]
    exempted = FetchSettings(allow_hosts=[target], per_host_delay=0)
    fetcher = Fetcher(exempted, proxies={"http": forward_proxy})
    try:
        assert fetcher.get(url).ok
    finally:
        fetcher.close()
    assert _ForwardProxy.seen == [url]
    guarded = Fetcher(FetchSettings(per_host_delay=0), proxies={"http": forward_proxy})
    try:
        refused = guarded.get(url)
    finally:
        guarded.close()
    assert refused.outcome == "blocked_address"
    assert _ForwardProxy.seen == [url]  # refused before the proxy was asked
