"""``wirewatch demo``: the real pipeline, offline, on bundled sample stories.

A local HTTP server on a free loopback port serves three sample feeds and their article
pages (``demo_data/stories.yaml``); two cycles run against a temporary SQLite database.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from .config import (
    AlertsFile,
    Config,
    ConsoleChannel,
    FeedConfig,
    FeedsFile,
    FetchSettings,
    FileChannel,
    RouteConfig,
    load_config,
)
from .database import open_database
from .run import CycleSummary, Pipeline, run_cycle
from .store import Store

DATA = Path(__file__).parent / "demo_data" / "stories.yaml"
Route = tuple[int, str, bytes]
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


def load_stories() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def build_site(base: str, data: dict[str, Any]) -> dict[str, Route]:
    """Every path the demo server answers: one RSS feed per outlet and one page per story."""
    routes: dict[str, Route] = {}
    items: dict[str, list[str]] = {outlet: [] for outlet in data["outlets"]}
    for story in data["stories"]:
        for outlet in story["outlets"]:
            url = f"{base}/{outlet}/{story['slug']}.html"
            page = _page(story, data["outlets"][outlet], url)
            routes[f"/{outlet}/{story['slug']}.html"] = (200, HTML, page.encode())
            items[outlet].append(_item(story, url, guid=f"{outlet}-{story['slug']}"))
    by_slug = {story["slug"]: story for story in data["stories"]}
    for link in data.get("digest_links", []):
        story = by_slug[link["story"]]
        url = f"{base}/{link['outlet']}/{story['slug']}.html{link['query']}"
        items["digest"].append(_item(story, url, guid=f"digest-{story['slug']}"))
    for outlet, entries in items.items():
        feed = _rss(data["outlets"][outlet], base, entries)
        routes[f"/{outlet}/feed.xml"] = (200, RSS, feed.encode())
    return routes


def _item(story: dict[str, Any], url: str, guid: str) -> str:
    published = format_datetime(datetime.fromisoformat(story["published"].replace("Z", "+00:00")))
    return (
        f"<item><title>{escape(story['title'])}</title><link>{escape(url)}</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{published}</pubDate>'
        f"<description>{escape(story['body'][0])}</description></item>"
    )


def _rss(title: str, base: str, items: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{base}/</link><description>Sample feed</description>"
        + "".join(items)
        + "</channel></rss>"
    )


def _page(story: dict[str, Any], outlet: str, url: str) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in story["body"])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(story["title"])} | {escape(outlet)}</title>
<link rel="canonical" href="{escape(url)}">
<meta name="author" content="{escape(story["author"])}">
<meta property="article:published_time" content="{story["published"]}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/markets">Markets</a> <a href="/tech">Tech</a>
<a href="/subscribe">Subscribe</a></nav></header>
<main><article><h1>{escape(story["title"])}</h1>
<p class="byline">By {escape(story["author"])}</p>{paragraphs}</article></main>
<aside><h2>Most read</h2><ul><li><a href="/a">Markets close higher</a></li>
<li><a href="/b">Weather warning for the weekend</a></li></ul></aside>
<footer>© {escape(outlet)}. All rights reserved.</footer></body></html>"""


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[str]:
    """Serve ``routes`` on a free port of 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            status, kind, body = routes.get(path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def demo_config(base: str, rules_from: Config, alert_file: Path, data: dict[str, Any]) -> Config:
    feeds = [
        FeedConfig(url=f"{base}/{key}/feed.xml", name=name) for key, name in data["outlets"].items()
    ]
    alerts = AlertsFile(
        channels={
            "console": ConsoleChannel(type="console"),
            "jsonl": FileChannel(type="file", path=str(alert_file)),
        },
        routes=[RouteConfig(name="demo", rules=["*"], channels=["console", "jsonl"])],
    )
    fetch = FetchSettings(allow_private_networks=True, per_host_delay=0, per_host_concurrency=8)
    return replace(rules_from, feeds=FeedsFile(fetch=fetch, feeds=feeds), alerts=alerts)


def run_demo(
    keep: Path | None, echo: Callable[[str], None] = print
) -> tuple[CycleSummary, CycleSummary]:
    data = load_stories()
    base_config = load_config()
    with tempfile.TemporaryDirectory(prefix="wirewatch-demo-") as scratch:
        workdir = keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        database = workdir / "demo.db"
        database.unlink(missing_ok=True)
        routes: dict[str, Route] = {}
        with serve(routes) as base:
            routes.update(build_site(base, data))
            config = demo_config(base, base_config, workdir / "alerts.jsonl", data)
            store = Store(open_database(f"sqlite:///{database}", auto_migrate=True))
            pipeline = Pipeline.build(config, store, base_dir=workdir)
            rules = config.directory / "rules.yaml"
            echo(f"Serving {len(config.feeds.feeds)} sample feeds at {base} (rules: {rules})\n")
            echo("── cycle 1 ──────────────────────────────────────────────")
            first = run_cycle(pipeline)
            echo(_summary_line(first))
            echo("\n── cycle 2, same database ───────────────────────────────")
            second = run_cycle(pipeline)
            echo(_summary_line(second))
            echo(f"\nNothing is sent twice: cycle 2 created {second.alerts} alerts.")
            if keep:
                echo(f"Database and alerts.jsonl kept in {workdir}")
            pipeline.close()
            store.engine.dispose()
    return first, second


def _summary_line(summary: CycleSummary) -> str:
    return (
        f"{summary.feeds_ok}/{len(summary.feeds)} feeds ok, {summary.new_articles} new articles, "
        f"{summary.duplicates} duplicates, {summary.matches} matches, {summary.alerts} new alerts, "
        f"{summary.delivery.sent} sent"
    )
