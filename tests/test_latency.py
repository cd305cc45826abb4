"""Latency: each feed goes through every stage as soon as it answers, its alerts are sent
at once, and the times (published, first seen, alerted) are kept and reported."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from pipeline.alert_times import (
    describe_time_to_alert,
    feed_delays,
    percentile,
    time_to_alert,
    with_time_to_alert,
)
from pipeline.config import load_config
from pipeline.pages import hosts_in_turn
from pipeline.run import Pipeline, run_cycle
from pipeline.store import Store, make_engine, migrate
from tests.conftest import LocalServer, rss, write_config

RULES = [{"name": "entity-list", "query": '"Entity List"'}]


def _pipeline(tmp_path: Path, db_url: str, feeds: list[dict], clock=None) -> Pipeline:  # type: ignore[no-untyped-def]
    config = write_config(
        tmp_path / "config", feeds=feeds, rules=RULES, fetch={"fetch_pages": False}
    )
    engine = make_engine(db_url)
    migrate(engine)
    extra = {"clock": clock} if clock else {}
    return Pipeline.build(load_config(config), Store(engine), base_dir=tmp_path, **extra)


def _sent(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["title"] for line in path.read_text().splitlines()]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_stuck_feed_does_not_hold_back_another_feeds_alert(
    tmp_path: Path, db_url: str, http_server: LocalServer
) -> None:
    fast = http_server.add(
        "/fast.xml",
        rss([{"title": "Firm put on the Entity List", "summary": "Entity List news", "guid": "f"}]),
    )
    release = threading.Event()
    slow_body = rss([{"title": "Late Entity List story", "summary": "Entity List", "guid": "s"}])

    def stuck(handler: BaseHTTPRequestHandler) -> None:
        release.wait(30)
        payload = slow_body.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    slow = http_server.add_handler("/slow.xml", stuck)
    pipeline = _pipeline(tmp_path, db_url, [{"url": slow}, {"url": fast}])
    cycle = threading.Thread(target=run_cycle, args=(pipeline,))
    cycle.start()
    alerts = tmp_path / "alerts.jsonl"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _sent(alerts):
        time.sleep(0.05)
    try:
        assert _sent(alerts) == ["Firm put on the Entity List"]  # while the slow feed hangs
    finally:
        release.set()
        cycle.join(30)
    assert sorted(_sent(alerts)) == ["Firm put on the Entity List", "Late Entity List story"]
    pipeline.close()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_published_first_seen_and_alerted_times_feed_the_reports(
    tmp_path: Path, db_url: str, http_server: LocalServer
) -> None:
    now = [datetime(2026, 11, 28, 9, 0, tzinfo=UTC)]
    published = "Sat, 28 Nov 2026 08:50:00 +0000"
    feed = http_server.add(
        "/f.xml",
        rss(
            [
                {
                    "title": "Entity List grows",
                    "summary": "Entity List",
                    "guid": "a",
                    "date": published,
                }
            ]
        ),
    )
    pipeline = _pipeline(tmp_path, db_url, [{"url": feed, "name": "Wire"}], clock=lambda: now[0])
    run_cycle(pipeline)
    store = pipeline.store
    figures = time_to_alert(store, now[0])
    assert figures == {
        "Wire": {
            "seen": {"n": 1, "p50": 0.0, "p95": 0.0},
            "published": {"n": 1, "p50": 600.0, "p95": 600.0},
        }
    }
    assert list(feed_delays(store, now[0]).values()) == [600.0]
    assert with_time_to_alert(store, now[0])["time_to_alert"] == figures
    assert (
        describe_time_to_alert(figures)[1]
        == "  Wire: p50 0s, p95 0s (1 alerts) | p50 10 min, p95 10 min"
    )
    assert time_to_alert(store, now[0] + timedelta(hours=25)) == {}  # only the last 24 h
    pipeline.close()


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0


def test_hosts_take_turns_for_page_fetches() -> None:
    items = [(f"k{n}", url) for n, url in enumerate(
        ["http://a.example/1", "http://a.example/2", "http://a.example/3", "http://b.example/1",
         "http://c.example/1", "http://b.example/2"]
    )]  # fmt: skip
    hosts = [url.split("/")[2] for _, url in hosts_in_turn(items)]
    assert hosts == ["a.example", "b.example", "c.example", "a.example", "b.example", "a.example"]
