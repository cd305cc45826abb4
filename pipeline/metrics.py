"""Prometheus metrics and a health check for the worker (``wirewatch worker --metrics-port``).

Counters are incremented where things happen (fetches, extraction, matches, deliveries);
gauges that describe the database (alerts by status, queue depth, feeds) are read from it
at scrape time, so every worker reports the shared state.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry()
FETCHES = Counter(
    "wirewatch_fetches_total", "Feed fetches by outcome", ["outcome"], registry=REGISTRY
)
EXTRACTIONS = Histogram(
    "wirewatch_extraction_seconds", "Time to fetch and extract one article page", registry=REGISTRY
)
ARTICLES = Counter("wirewatch_articles_total", "New articles stored", registry=REGISTRY)
MATCHES = Counter("wirewatch_matches_total", "Rule matches stored", ["rule"], registry=REGISTRY)
DELIVERIES = Counter(
    "wirewatch_deliveries_total", "Delivery attempts by result", ["result"], registry=REGISTRY
)
ALERTS = Gauge("wirewatch_alerts", "Alerts in the outbox by status", ["status"], registry=REGISTRY)
QUEUE = Gauge("wirewatch_queue_depth", "Pending alerts waiting to be sent", registry=REGISTRY)
FEEDS = Gauge("wirewatch_feeds", "Feeds by state", ["state"], registry=REGISTRY)
FEED_PROBLEMS = Gauge(
    "wirewatch_feed_problem",
    "1 for each feed that is disabled, failing or stale (no success for a day)",
    ["feed", "state"],
    registry=REGISTRY,
)
TIME_TO_ALERT = Gauge(
    "wirewatch_time_to_alert_seconds",
    "First seen to alert sent, per source, over the last 24 h",
    ["source", "quantile"],
    registry=REGISTRY,
)
LAST_POLL = Gauge("wirewatch_last_poll_timestamp", "When the worker last polled", registry=REGISTRY)


_last_poll = [time.time()]


def record_poll() -> None:
    _last_poll[0] = time.time()
    LAST_POLL.set(_last_poll[0])


def refresh_from_status(status: dict[str, Any]) -> None:
    for name, value in status["alerts"].items():
        ALERTS.labels(name).set(value)
    QUEUE.set(status["alerts"]["pending"])
    for state in ("due", "failing", "disabled", "stale"):
        FEEDS.labels(state).set(status.get(f"feeds_{state}", 0))
    FEED_PROBLEMS.clear()
    for problem in status.get("feed_problems", []):
        FEED_PROBLEMS.labels(problem["feed"], problem["state"]).set(1)
    for source, figures in status.get("time_to_alert", {}).items():
        for quantile in ("p50", "p95"):
            TIME_TO_ALERT.labels(source, quantile.replace("p", "0.")).set(figures["seen"][quantile])


def serve(
    port: int,
    status: Callable[[], dict[str, Any]],
    stale_after: float = 120.0,
    host: str = "127.0.0.1",
) -> ThreadingHTTPServer:
    """Serve ``/metrics`` (Prometheus) and ``/healthz`` (200 while the worker polls)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                with contextlib.suppress(Exception):  # a scrape answers even without the DB
                    refresh_from_status(status())
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            elif self.path == "/healthz":
                age = time.time() - _last_poll[0]
                healthy = age < stale_after
                body = json.dumps({"ok": healthy, "seconds_since_poll": round(age, 1)}).encode()
                self._answer(200 if healthy else 503, "application/json", body)
            else:
                self._answer(404, "text/plain", b"not found")

        def _answer(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return server
