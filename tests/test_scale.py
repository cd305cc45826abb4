"""Several workers on one PostgreSQL: work is split, nothing is done twice, and the work
of a killed worker is taken over after its lease expires."""

import itertools
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from pipeline.store import make_engine
from tests.conftest import ROOT, Cli, LocalServer, SlackServer, SmtpServer, write_config

pytestmark = pytest.mark.postgres
FEEDS = 200
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
]


class Farm:
    """200 feeds of one item each; every fourth item is about the Entity List."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.hold = threading.Event()
        self.hold.set()
        self.spans: dict[int, list[tuple[float, float]]] = defaultdict(list)
        self.lock = threading.Lock()
        server.routes.update({f"/feed/{n}.xml": self._responder(n) for n in range(FEEDS)})

    def _responder(self, number: int):
        def respond(handler: BaseHTTPRequestHandler) -> None:
            started = time.monotonic()
            self.hold.wait(30)
            words = " ".join(WORDS[(number + i) % len(WORDS)] + str(number) for i in range(30))
            topic = "added companies to the Entity List" if number % 4 == 0 else "reported results"
            body = (
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {number}</title>'
                f"<item><guid>item-{number}</guid><title>Story {number}: Commerce {topic}</title>"
                f"<description>Story {number}. The department {topic}. {words}</description></item>"
                f"</channel></rss>"
            ).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/rss+xml")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            with self.lock:
                self.spans[number].append((started, time.monotonic()))

        return respond

    def overlapping(self) -> list[int]:
        """Feeds that were being fetched by two workers at the same time."""
        bad = []
        for number, spans in self.spans.items():
            ordered = sorted(spans)
            if any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ordered)):
                bad.append(number)
        return bad


def configure(cli: Cli, farm: Farm, slack: SlackServer, smtp: SmtpServer, pg_url: str) -> None:
    config = write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": farm.server.url(f"/feed/{n}.xml"), "interval": "1h"} for n in range(FEEDS)],
        rules=[{"name": "entity-list", "query": '"Entity List"'}],
        fetch={"fetch_pages": False, "concurrency": 8, "read_timeout": 40, "total_timeout": 40},
    )
    (config / "settings.yaml").write_text(yaml.safe_dump({"worker": {"feed_lease": "4s"}}))
    (config / "alerts.yaml").write_text(
        yaml.safe_dump(
            {
                "channels": {
                    "slack": {"type": "slack", "webhook_url": slack.webhook_url},
                    "mail": {
                        "type": "email",
                        "host": "127.0.0.1",
                        "port": smtp.port,
                        "security": "none",
                        "from": "alerts@desk.example",
                        "to": ["desk@desk.example"],
                    },
                },
                "routes": [{"name": "all", "rules": ["*"], "channels": ["slack", "mail"]}],
                "delivery": {"lease": "4s", "retry_base": "1s"},
            }
        )
    )
    cli.env["DATABASE_URL"] = pg_url
    assert cli("migrate").returncode == 0


def start_worker(cli: Cli) -> subprocess.Popen:
    """A worker whose log goes to a file: a pipe nobody reads would fill and block it."""
    log = Path(cli.env["HOME"]) / f"worker-{time.monotonic_ns()}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "worker"],
        env=cli.env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def counts(pg_url: str) -> tuple[int, int]:
    engine = make_engine(pg_url)
    with engine.connect() as connection:
        fetched = connection.execute(
            text("select count(*) from feeds where last_checked_at is not null")
        ).scalar()
        sent = connection.execute(
            text("select count(*) from alerts where status = 'sent'")
        ).scalar()
    engine.dispose()
    return fetched, sent


def wait_until_done(pg_url: str, timeout: float = 300) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fetched, sent = counts(pg_url)
        if fetched == FEEDS and sent == 2 * FEEDS // 4:
            return fetched, sent
        time.sleep(0.5)
    return counts(pg_url)


def stop_all(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def assert_delivered_once(slack: SlackServer, smtp: SmtpServer) -> None:
    texts = [payload["text"] for payload in slack.delivered]
    assert len(texts) == len(set(texts)) == FEEDS // 4, "each Slack alert exactly once"
    ids = [message["Message-ID"] for message in smtp.messages]
    assert len(ids) == len(set(ids)) == FEEDS // 4, "each email exactly once"


def test_three_workers_split_the_work_exactly_once(
    cli: Cli, http_server: LocalServer, slack: SlackServer, smtp: SmtpServer, pg_url: str
) -> None:
    farm = Farm(http_server)
    configure(cli, farm, slack, smtp, pg_url)
    workers = [start_worker(cli) for _ in range(3)]
    try:
        assert wait_until_done(pg_url) == (FEEDS, FEEDS // 2)
    finally:
        stop_all(workers)
    assert all(len(farm.spans[n]) == 1 for n in range(FEEDS)), (
        "every feed fetched once in its interval"
    )
    assert_delivered_once(slack, smtp)
    for worker in workers:
        assert worker.returncode == 0, worker.log.read_text()[-3000:]


def test_killed_worker_is_taken_over_after_its_lease(
    cli: Cli, http_server: LocalServer, slack: SlackServer, smtp: SmtpServer, pg_url: str
) -> None:
    farm = Farm(http_server)
    configure(cli, farm, slack, smtp, pg_url)
    farm.hold.clear()  # every feed answers only when released: the first worker is mid-cycle
    doomed = start_worker(cli)
    deadline = time.monotonic() + 30
    while sum(len(v) for v in farm.spans.values()) == 0 and time.monotonic() < deadline:
        if len(http_server.requests) >= 8:
            break
        time.sleep(0.1)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    farm.hold.set()
    workers = [start_worker(cli) for _ in range(2)]
    try:
        assert wait_until_done(pg_url) == (FEEDS, FEEDS // 2)
    finally:
        stop_all(workers)
    taken_over = [n for n in range(FEEDS) if len(http_server.requests[f"/feed/{n}.xml"]) > 1]
    assert taken_over, "the killed worker held feeds that the others took over"
    assert farm.overlapping() == [], "no feed was fetched by two workers at once"
    assert_delivered_once(slack, smtp)
