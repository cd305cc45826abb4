"""Fetching on a hostile web: a local fault-injecting server, every answer a real feed
server or attacker could give, in one cycle beside healthy feeds."""

import gzip
import socket
import struct
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from pipeline.config import FetchSettings, load_config
from pipeline.extract import ExtractorPool
from pipeline.fetch import Fetcher
from pipeline.run import Pipeline, run_cycle
from pipeline.store import Store, make_engine, migrate
from tests.conftest import LocalServer, article_html, hang, rss, write_config
from tests.extract_helpers import hang_on_request

PARAGRAPHS = [
    "The Commerce Department added a dozen companies to the Entity List on Tuesday, citing efforts to acquire chipmaking tools.",
    "Officials said the companies had used distributors in third countries to obtain etching equipment without licences.",
    "Industry groups asked for guidance on shipments already in transit when the rule takes effect.",
]


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Close with SO_LINGER 0: the client gets a TCP reset instead of an answer."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.rfile.close()
    handler.wfile.close()
    handler.connection.close()


def endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.end_headers()
    while True:
        handler.wfile.write(b"<item>" * 10_000)


def slow_ok(body: str):
    def respond(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(1)
        raw = body.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    return respond


def redirect(target: str, status: int = 302):
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


@pytest.fixture
def farm(http_server: LocalServer, tmp_path: Path):
    s = http_server
    s.add(
        "/page/one.html",
        article_html("Twelve firms added to Entity List", PARAGRAPHS),
        content_type="text/html",
    )
    healthy = rss(
        [
            {
                "title": "Twelve firms added to Entity List",
                "guid": "h1",
                "link": s.url("/page/one.html"),
            },
            {
                "title": "Article on a private address",
                "guid": "h2",
                "link": "http://10.0.0.1/secret",
                "summary": "Commerce added firms to the Entity List, the feed says.",
            },
            {
                "title": "Article on localhost",
                "guid": "h3",
                "link": "http://localhost:1/admin",
                "summary": "Another summary about the Entity List.",
            },
        ]
    )
    s.add("/healthy.xml", healthy, headers={"ETag": '"v1"'})
    s.add_handler("/slow.xml", slow_ok(rss([{"title": "Slow but fine", "guid": "s1"}])))
    s.add_handler("/hang.xml", hang(30))
    s.add_handler("/reset.xml", reset)
    for status in (404, 410, 500, 503):
        s.add(f"/s{status}.xml", "error", status=status, content_type="text/plain")
    s.add("/s429.xml", "slow down", status=429, headers={"Retry-After": "3600"})
    s.add_handler("/loop.xml", redirect("/loop.xml"))
    port = s.base.rsplit(":", 1)[1]
    s.add_handler("/to-loopback.xml", redirect(f"http://127.0.0.1:{int(port) + 1}/x"))
    s.add_handler("/to-private.xml", redirect("http://10.0.0.1/feed"))
    s.add_handler("/to-metadata.xml", redirect("http://169.254.169.254/latest/meta-data/"))
    s.add_handler("/to-mapped.xml", redirect(f"http://[::ffff:127.0.0.1]:{port}/healthy.xml"))
    s.add_handler("/moved.xml", redirect("/healthy-moved.xml", 301))
    s.add("/healthy-moved.xml", rss([{"title": "Moved feed item", "guid": "m1"}]))
    s.add("/bomb.xml", gzip.compress(b" " * 50_000_000), headers={"Content-Encoding": "gzip"})
    s.add_handler("/endless.xml", endless)
    s.add("/malformed.xml", b"<rss><channel><title>Broken &")
    s.add(
        "/recovered.xml",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><guid>r1</guid>'
        b"<title>Kept entry</title></item><item><title>A & B</ti",
    )
    s.add(
        "/html.xml",
        b"<!doctype html><html><body><h1>Welcome</h1></body></html>",
        content_type="text/html",
    )
    s.add(
        "/latin1.xml",
        rss([{"title": "Caf\u00e9 export r\u00e8gles", "guid": "l1"}])
        .replace('encoding="utf-8"', 'encoding="iso-8859-1"')
        .encode("latin-1"),
        content_type="application/rss+xml; charset=utf-8",
    )
    s.add(
        "/guids.xml",
        rss(
            [
                {"title": "Same id one", "guid": "dup"},
                {"title": "Same id two", "guid": "dup"},
                {"title": "No id at all", "link": s.url("/page/none")},
            ]
        ),
    )
    names = [
        "healthy",
        "slow",
        "hang",
        "reset",
        "s404",
        "s410",
        "s429",
        "s500",
        "s503",
        "loop",
        "to-loopback",
        "to-private",
        "to-metadata",
        "to-mapped",
        "moved",
        "bomb",
        "endless",
        "malformed",
        "recovered",
        "html",
        "latin1",
        "guids",
    ]
    config = write_config(
        tmp_path / "config",
        feeds=[{"url": s.url(f"/{name}.xml"), "name": name} for name in names],
        rules=[{"name": "entity-list", "query": '"Entity List"'}],
        fetch={
            "allow_private_networks": False,
            "allow_hosts": [f"127.0.0.1:{port}"],
            "read_timeout": 2,
            "total_timeout": 4,
            "max_bytes": 2_000_000,
            "concurrency": 8,
        },
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'farm.db'}")
    migrate(engine)
    pipeline = Pipeline.build(load_config(config), Store(engine), base_dir=tmp_path)
    yield s, pipeline
    pipeline.close()
    engine.dispose()


EXPECTED = {
    "healthy": "ok", "slow": "ok", "hang": "timeout", "reset": "connection_error",
    "s404": "not_found", "s410": "gone", "s429": "rate_limited", "s500": "http_5xx", "s503": "http_5xx",
    "loop": "redirect_loop", "to-loopback": "blocked_address", "to-private": "blocked_address",
    "to-metadata": "blocked_address", "to-mapped": "blocked_address", "moved": "ok",
    "bomb": "too_large", "endless": "too_large", "malformed": "parse_error", "recovered": "ok",
    "html": "not_a_feed",
    "latin1": "ok", "guids": "ok",
}  # fmt: skip


def test_every_fault_has_its_outcome_and_healthy_feeds_go_on(farm) -> None:
    server, pipeline = farm
    summary = run_cycle(pipeline)  # ends although some servers hang (pytest-timeout guards)
    outcomes = {report.feed: report.outcome for report in summary.feeds}
    assert outcomes == EXPECTED
    states = {state.label: state for state in pipeline.store.feed_states()}

    assert not states["s410"].enabled and "gone" in states["s410"].disabled_reason
    s429 = states["s429"]
    assert s429.next_check_at - s429.last_checked_at >= timedelta(hours=1), "Retry-After"
    assert states["s500"].consecutive_failures == 1 and states["s500"].enabled
    assert (
        "refused" in states["to-metadata"].last_error
        and "169.254.169.254" in states["to-metadata"].last_error
    )
    assert states["moved"].fetch_url == server.url("/healthy-moved.xml")
    assert states["latin1"].last_outcome == "ok"
    assert (
        states["recovered"].last_outcome == "ok"
        and "not well-formed" in states["recovered"].last_error
    )
    for name in ("to-private", "to-metadata"):
        assert not server.requests.get("/x"), name

    stories = {story.title for story in pipeline.store.stories()}
    assert {
        "Twelve firms added to Entity List",
        "Slow but fine",
        "Moved feed item",
        "Same id one",
        "No id at all",
    } <= stories
    assert "Same id two" not in stories, "a repeated GUID within a feed is one entry"
    assert any(title.startswith("Caf\u00e9") for title in stories), (
        "the wrong declared charset is survived"
    )
    matches = {view.title for view in pipeline.store.recent_matches()}
    assert {
        "Twelve firms added to Entity List",
        "Article on a private address",
        "Article on localhost",
    } <= matches


def test_private_article_links_are_never_fetched_and_fall_back_to_feed_text(farm) -> None:
    _, pipeline = farm
    run_cycle(pipeline)
    [view] = [
        v for v in pipeline.store.recent_matches() if v.title == "Article on a private address"
    ]
    assert "Entity List" in " ".join(view.highlights), "matched on the feed's own text"


def test_conditional_requests_on_unchanged_feeds(http_server: LocalServer, tmp_path: Path) -> None:
    requests = []

    def feed(handler: BaseHTTPRequestHandler) -> None:
        requests.append(handler.headers.get("If-None-Match"))
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        raw = rss(
            [
                {
                    "title": "Twelve firms added to Entity List",
                    "guid": "c1",
                    "link": http_server.url("/page.html"),
                }
            ]
        ).encode()
        handler.send_response(200)
        handler.send_header("ETag", '"v1"')
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    http_server.add_handler("/c.xml", feed)
    http_server.add(
        "/page.html",
        article_html("Twelve firms added to Entity List", PARAGRAPHS),
        content_type="text/html",
    )
    config = write_config(
        tmp_path / "config",
        feeds=[{"url": http_server.url("/c.xml")}],
        rules=[{"name": "entity-list", "query": '"Entity List"'}],
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    pipeline = Pipeline.build(load_config(config), Store(engine), base_dir=tmp_path)
    try:
        first = run_cycle(pipeline)
        second = run_cycle(pipeline)
    finally:
        pipeline.close()
    assert first.new_articles == 1 and [r.outcome for r in second.feeds] == ["not_modified"]
    assert requests == [None, '"v1"'], "the second request is conditional"
    assert len(http_server.requests["/page.html"]) == 1, "no page is fetched or extracted again"


def test_extraction_has_a_hard_time_limit_and_recovers() -> None:
    pool = ExtractorPool(workers=1, timeout=2, memory_mb=512, function=hang_on_request)
    try:
        page, problem = pool.extract(b"hang", "https://x.example/a", 1000)
        assert page is None and "longer than 2s" in problem
        page, problem = pool.extract(b"boom", "https://x.example/b", 1000)
        assert page is None and "parser exploded" in problem
        page, problem = pool.extract(b"hog", "https://x.example/c", 1000)
        assert page is None and ("memory" in problem or "died" in problem)
        page, problem = pool.extract(b"<p>fine</p>", "https://x.example/d", 1000)
        assert page is not None and page.text == "text of https://x.example/d" and problem is None
    finally:
        pool.close()


def test_per_host_gate_spaces_requests(http_server: LocalServer) -> None:
    url = http_server.add("/g.xml", "ok", content_type="text/plain")
    fetcher = Fetcher(
        FetchSettings(allow_private_networks=True, per_host_delay=0.3, per_host_concurrency=1)
    )
    started = time.monotonic()
    for _ in range(4):
        assert fetcher.get(url).ok
    assert time.monotonic() - started >= 0.9
    fetcher.close()
