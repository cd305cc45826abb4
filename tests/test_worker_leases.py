"""Killed and stopped processes, end to end (issue 12): a digest whose sender was killed
is sent once after a restart; a worker killed mid-feed has its feed finished by the
next worker; the first SIGTERM finishes the current send and stops, a second one stops
at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from sqlalchemy import text

from pipeline.store import make_engine
from tests.conftest import (
    ROOT,
    Cli,
    LocalServer,
    SlackServer,
    article_html,
    hang,
    rss,
    write_config,
)

STORIES = [
    ("Commerce adds 80 firms to Entity List", "The Commerce Department added 80 firms."),
    ("Two charged with smuggling Nvidia GPUs", "Prosecutors charged two men with smuggling."),
]
RULES = [
    {"name": "entity-list", "query": '"Entity List"'},
    {"name": "smuggling", "query": "smuggl*"},
]


def wait_for(predicate, timeout: float = 60, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def configure(cli: Cli, server: LocalServer, slack: SlackServer, db_url: str, route: dict) -> Path:
    feed = server.add(
        "/f.xml",
        rss([{"title": t, "summary": s, "guid": f"g{i}"} for i, (t, s) in enumerate(STORIES)]),
    )
    config = write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": feed, "interval": "1h"}],
        rules=RULES,
        fetch={"fetch_pages": False},
    )
    (config / "alerts.yaml").write_text(
        yaml.safe_dump(
            {
                "channels": {"slack": {"type": "slack", "webhook_url": slack.webhook_url,
                                       "timeout": 30}},
                "routes": [{"name": "all", "rules": ["*"], "channels": ["slack"], **route}],
                "delivery": {"lease": "1s", "retry_base": "1s"},
            }
        )
    )  # fmt: skip
    cli.env["DATABASE_URL"] = db_url
    assert cli("migrate").returncode == 0
    return config


def rows(db_url: str, query: str) -> list[tuple]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def start(cli: Cli, *args: str) -> subprocess.Popen:
    log = Path(cli.env["HOME"]) / f"{args[0]}-{time.monotonic_ns()}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        env=cli.env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def test_a_digest_killed_mid_send_is_sent_once_after_a_restart(
    cli: Cli, http_server: LocalServer, slack: SlackServer, db_url: str
) -> None:
    configure(cli, http_server, slack, db_url, {"mode": "digest", "schedule": "0 8 * * *"})
    assert "0 sent" in cli("run-once").stdout, "digest alerts wait for the digest"
    slack.hold = threading.Event()
    sender = start(cli, "digest")
    try:
        assert wait_for(lambda: slack.attempts == 1), "the digest is being sent"
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
    slack.hold.set()  # the killed send was never accepted
    assert rows(db_url, "select status from digests") == [("sending",)]

    def delivered() -> bool:
        cli("run-once")  # its delivery takes over digests whose sender's lease expired
        return len(slack.delivered) >= 1

    assert wait_for(delivered, every=0.5), "the digest was taken over"
    cli("run-once")
    assert len(slack.delivered) == 1, "sent once"
    assert rows(db_url, "select status, lease_owner from digests") == [("sent", None)]
    assert {status for (status,) in rows(db_url, "select status from alerts")} == {"sent"}


def test_a_worker_killed_mid_feed_has_its_feed_finished_by_the_next(
    cli: Cli, http_server: LocalServer, slack: SlackServer, db_url: str
) -> None:
    http_server.add_handler("/page.html", hang(60))
    feed = http_server.add(
        "/k.xml",
        rss([{"title": STORIES[0][0], "guid": "k1", "link": http_server.url("/page.html"),
              "summary": STORIES[0][1]}]),
    )  # fmt: skip
    config = configure(cli, http_server, slack, db_url, {})
    feeds = yaml.safe_load((config / "feeds.yaml").read_text())
    feeds["feeds"] = [{"url": feed, "interval": "1h"}]
    feeds["fetch"].update(fetch_pages=True, read_timeout=60, total_timeout=60)
    (config / "feeds.yaml").write_text(yaml.safe_dump(feeds))
    (config / "settings.yaml").write_text(yaml.safe_dump({"worker": {"feed_lease": "2s"}}))
    doomed = start(cli, "worker")
    try:
        assert wait_for(lambda: http_server.requests["/page.html"]), "mid-feed: fetching a page"
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
    http_server.add(
        "/page.html", article_html(STORIES[0][0], [STORIES[0][1]] * 3), content_type="text/html"
    )
    successor = start(cli, "worker")
    try:
        assert wait_for(lambda: len(slack.delivered) >= 1, timeout=90), (
            "the feed was taken over long before its next check (1 h)"
        )
    finally:
        successor.send_signal(signal.SIGTERM)
        successor.wait(timeout=30)
    assert successor.returncode == 0, successor.log.read_text()[-3000:]
    assert len(slack.delivered) == 1
    assert rows(db_url, "select count(*) from articles") == [(1,)]
    assert rows(db_url, "select count(*) from feeds where lease_owner is not null") == [(0,)]
    assert "maximum number of running instances" not in successor.log.read_text()


def stuck_in_a_send_then_sigterm(
    cli: Cli, http_server: LocalServer, slack: SlackServer, db_url: str
) -> subprocess.Popen:
    """A worker sending its first alert to a Slack that does not answer, then SIGTERM."""
    configure(cli, http_server, slack, db_url, {})
    slack.hold = threading.Event()
    worker = start(cli, "worker")
    try:
        assert wait_for(lambda: slack.attempts == 1), "the worker is stuck in a send"
        worker.send_signal(signal.SIGTERM)
        assert wait_for(lambda: "received SIGTERM" in worker.log.read_text())
    except BaseException:
        slack.hold.set()
        worker.kill()
        raise
    return worker


def test_first_sigterm_finishes_the_current_send_and_stops(
    cli: Cli, http_server: LocalServer, slack: SlackServer, db_url: str
) -> None:
    worker = stuck_in_a_send_then_sigterm(cli, http_server, slack, db_url)
    try:
        slack.hold.set()  # the send in progress ends (unanswered)
        worker.wait(timeout=60)
    finally:
        slack.hold.set()
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, worker.log.read_text()[-3000:]
    assert slack.attempts == 1, "nothing was sent after SIGTERM"
    assert rows(db_url, "select count(*) from alerts where status = 'sending'") == [(0,)]
    assert rows(db_url, "select count(*) from alerts where lease_owner is not null") == [(0,)]


def test_second_sigterm_stops_at_once(
    cli: Cli, http_server: LocalServer, slack: SlackServer, db_url: str
) -> None:
    worker = stuck_in_a_send_then_sigterm(cli, http_server, slack, db_url)
    try:
        assert worker.poll() is None, "the first SIGTERM waits for the send in progress"
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)  # well inside the 30 s the send would still take
    finally:
        slack.hold.set()
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 128 + signal.SIGTERM
    assert "stopping now" in worker.log.read_text()


def test_poll_ticks_beyond_the_poll_slots_pass_quietly(caplog) -> None:
    """Both poll slots busy: a further tick returns at once, touching nothing, instead of
    APScheduler logging "maximum number of running instances reached" every second."""
    from types import SimpleNamespace

    from pipeline.worker import POLL_JOBS, _poll_if_a_slot_is_free

    slots = threading.BoundedSemaphore(POLL_JOBS)
    for _ in range(POLL_JOBS):
        slots.acquire()
    no_store = SimpleNamespace(stop=threading.Event())  # a claim would raise AttributeError
    _poll_if_a_slot_is_free(no_store, slots)
    assert caplog.records == []
