"""Running unattended: overlapping cron runs, SIGTERM, status, prune, logs, metrics."""

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from sqlalchemy import text

from pipeline.store import make_engine
from tests.conftest import ROOT, Cli, LocalServer, article_html, free_port, hang, rss, write_config
from tests.test_worker_leases import start

STORY = (
    "Commerce adds 30 companies to the Entity List",
    "The Commerce Department added 30 companies to the Entity List on Friday.",
)


def popen(cli: Cli, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        env=cli.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_overlapping_run_once_exits_with_code_4(
    cli: Cli, http_server: LocalServer, db_url: str
) -> None:
    released = threading.Event()  # the first run's feed answers only once the second ran

    def slow_feed(handler: BaseHTTPRequestHandler) -> None:
        released.wait(120)
        body = rss([]).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    slow = http_server.add_handler("/slow.xml", slow_feed)
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": slow}],
        fetch={"read_timeout": 150, "total_timeout": 150},
    )
    cli.env["DATABASE_URL"] = db_url
    assert cli("migrate").returncode == 0
    first = popen(cli, "run-once")
    assert wait_for(lambda: http_server.requests["/slow.xml"]), "the first run is fetching"
    try:
        second = cli("run-once")
    finally:
        released.set()
    assert second.returncode == 4
    assert "another wirewatch run is in progress" in second.stderr
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert len(http_server.requests["/slow.xml"]) == 1, "no double work"


def test_second_worker_on_sqlite_is_refused(cli: Cli) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    worker = start(cli, "worker")
    try:
        assert wait_for(lambda: "worker started" in worker.log.read_text()), "it holds the lock"
        second = cli("worker", timeout=30)
        assert second.returncode == 4 and "SQLite runs one worker at a time" in second.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=15)


def test_sigterm_mid_cycle_exits_quickly_and_holds_nothing(
    cli: Cli, http_server: LocalServer, db_url: str
) -> None:
    http_server.add_handler("/pages/slow.html", hang(60))
    http_server.add(
        "/pages/fast.html", article_html(STORY[0], [STORY[1]] * 3), content_type="text/html"
    )
    feed = http_server.add(
        "/f.xml",
        rss(
            [
                {
                    "title": "Slow page story",
                    "guid": "s",
                    "link": http_server.url("/pages/slow.html"),
                    "summary": "Slow.",
                },
                {
                    "title": STORY[0],
                    "guid": "f",
                    "link": http_server.url("/pages/fast.html"),
                    "summary": STORY[1],
                },
            ]
        ),
    )
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": feed}],
        fetch={"read_timeout": 60, "total_timeout": 60},
    )
    cli.env["DATABASE_URL"] = db_url
    assert cli("migrate").returncode == 0
    worker = popen(cli, "worker")
    assert wait_for(lambda: http_server.requests["/pages/slow.html"]), (
        "the worker is stuck on a slow page"
    )
    worker.send_signal(signal.SIGTERM)
    # The slow page takes 60 s: a worker that waited for it would outlast this timeout.
    _, stderr = worker.communicate(timeout=45)
    assert worker.returncode == 0, stderr
    engine = make_engine(db_url)
    with engine.connect() as connection:
        leases = connection.execute(
            text("select count(*) from feeds where lease_until is not null")
        ).scalar()
        etag_saved = connection.execute(
            text("select count(*) from feeds where etag is not null")
        ).scalar()
        orphans = connection.execute(
            text("select count(*) from entries where article_id is null")
        ).scalar()
    engine.dispose()
    assert leases == 0, "the worker released its feeds"
    assert orphans == 0 and etag_saved == 0, (
        "nothing half-written; the feed is read in full next time"
    )
    http_server.add(
        "/pages/slow.html",
        article_html("Slow page story", [STORY[1]] * 3),
        content_type="text/html",
    )
    run = cli("run-once")
    assert "2 new articles" in run.stdout and run.returncode == 0, run.stdout


def test_status_prune_and_json_logs(cli: Cli, http_server: LocalServer) -> None:
    feed = http_server.add("/s.xml", rss([{"title": STORY[0], "guid": "1", "summary": STORY[1]}]))
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]), feeds=[{"url": feed}], fetch={"fetch_pages": False}
    )
    run = cli("--log-format", "json", "-v", "run-once")
    records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    status = json.loads(cli("status", "--json").stdout)
    assert (
        status["articles_24h"] == 1 and status["matches_24h"] >= 1 and status["alerts"]["sent"] >= 1
    )
    assert "last 24 h: 1 article," in cli("status").stdout
    assert "pruned the text of 0 articles" in cli("prune", "--older-than", "1d").stdout
    assert "pruned the text of 1 article " in cli("prune", "--older-than", "0s").stdout
    assert cli("matches", "--json").stdout.strip(), "matches stay after pruning"


def test_worker_metrics_and_health(cli: Cli, http_server: LocalServer) -> None:
    feed = http_server.add("/m.xml", rss([{"title": STORY[0], "guid": "1", "summary": STORY[1]}]))
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]), feeds=[{"url": feed}], fetch={"fetch_pages": False}
    )
    port = free_port()
    worker = popen(cli, "worker", "--metrics-port", str(port))
    try:

        def scrape(path: str) -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.read().decode()

        assert wait_for(lambda: _ok(scrape, "/healthz"), timeout=30)
        assert json.loads(scrape("/healthz"))["ok"] is True
        assert wait_for(
            lambda: 'wirewatch_fetches_total{outcome="ok"}' in scrape("/metrics"), timeout=30
        )
        metrics = scrape("/metrics")
        assert 'wirewatch_alerts{status="sent"}' in metrics and "wirewatch_queue_depth" in metrics
        status = cli("status").stdout
        assert "last heartbeat" in status
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=15)
    assert "stopped" in cli("status").stdout


def _ok(scrape, path: str) -> bool:
    try:
        scrape(path)
    except OSError:
        return False
    return True
