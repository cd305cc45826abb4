"""The fetcher against a real local HTTP server."""

import gzip
import time
from http.server import BaseHTTPRequestHandler

import pytest

from pipeline.config import FetchSettings
from pipeline.fetch import Fetcher, classify_status, default_user_agent
from tests.conftest import LocalServer, hang, rss

SETTINGS = FetchSettings(
    connect_timeout=2,
    read_timeout=1,
    total_timeout=3,
    max_bytes=100_000,
    allow_private_networks=True,
    per_host_delay=0,
)


@pytest.fixture
def fetcher():
    with_client = Fetcher(SETTINGS)
    yield with_client
    with_client.close()


def test_ok_with_validators_and_user_agent(http_server: LocalServer, fetcher: Fetcher) -> None:
    url = http_server.add(
        "/feed", rss([]), headers={"ETag": '"v1"', "Last-Modified": "Wed, 25 Nov 2026 08:00:00 GMT"}
    )
    result = fetcher.get(url)
    assert result.ok and result.status == 200 and result.body.startswith(b"<?xml")
    assert result.etag == '"v1"' and result.last_modified.startswith("Wed")
    assert http_server.requests["/feed"][0]["User-Agent"] == default_user_agent()


def test_conditional_get_sends_validators(http_server: LocalServer, fetcher: Fetcher) -> None:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            handler.send_response(200)
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"ok")

    url = http_server.add_handler("/cond", respond)
    assert fetcher.get(url, etag='"v1"').outcome == "not_modified"
    assert fetcher.get(url).outcome == "ok"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (404, "not_found"),
        (410, "gone"),
        (429, "rate_limited"),
        (500, "http_5xx"),
        (503, "http_5xx"),
        (403, "http_4xx"),
    ],
)
def test_status_outcomes(
    http_server: LocalServer, fetcher: Fetcher, status: int, outcome: str
) -> None:
    result = fetcher.get(http_server.add(f"/s{status}", "x", status=status))
    assert (result.outcome, result.status) == (outcome, status)
    assert result.error and str(status) in result.error


def test_hanging_server_times_out_within_limit(http_server: LocalServer, fetcher: Fetcher) -> None:
    url = http_server.add_handler("/hang", hang(10))
    result = fetcher.get(url)
    # The server answers after 10 s: a fetcher without its own limit would get "ok".
    assert SETTINGS.total_timeout < 10
    assert result.outcome == "timeout"


def test_slow_drip_hits_total_timeout(http_server: LocalServer, fetcher: Fetcher) -> None:
    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        for _ in range(100):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.5)

    result = fetcher.get(http_server.add_handler("/drip", drip))
    assert result.outcome == "timeout"


def test_body_cap_applies_to_declared_and_streamed_size(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    assert fetcher.get(http_server.add("/big", b"x" * 200_000)).outcome == "too_large"

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b"y" * 10_000)

    assert fetcher.get(http_server.add_handler("/endless", endless)).outcome == "too_large"


def test_gzip_bomb_is_capped_on_decompressed_size(
    http_server: LocalServer, fetcher: Fetcher
) -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    url = http_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    assert len(bomb) < SETTINGS.max_bytes
    assert fetcher.get(url).outcome == "too_large"


def test_connection_refused_is_reported(fetcher: Fetcher) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = fetcher.get(f"http://127.0.0.1:{port}/feed")
    assert result.outcome == "connection_error" and "connection failed" in result.error


def test_redirect_loop_is_stopped(http_server: LocalServer, fetcher: Fetcher) -> None:
    http_server.add("/loop", "", status=302, headers={"Location": "/loop"})
    assert fetcher.get(http_server.url("/loop")).outcome == "redirect_loop"


def test_classify_status() -> None:
    assert [classify_status(s) for s in (200, 204, 304, 301, 401)] == [
        "ok",
        "ok",
        "not_modified",
        "http_4xx",
        "http_4xx",
    ]


@pytest.mark.parametrize("encoding", ["br", "deflate"])
def test_other_compression_bombs_are_capped(
    http_server: LocalServer, fetcher: Fetcher, encoding: str
) -> None:
    import zlib

    import brotli

    payload = b"\0" * 5_000_000
    body = brotli.compress(payload) if encoding == "br" else zlib.compress(payload)
    url = http_server.add(f"/bomb-{encoding}", body, headers={"Content-Encoding": encoding})
    assert len(body) < SETTINGS.max_bytes
    assert fetcher.get(url).outcome == "too_large"
