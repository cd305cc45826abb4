"""Delivery semantics: outages, permanent failures, a crash mid-delivery, digests."""

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pipeline.alert import last_fire_time, send_digest
from pipeline.config import ConfigError, DeliverySettings, RouteConfig, load_config
from pipeline.store import PlannedAlert, Store, make_engine, migrate
from pipeline.types import Article, Match
from tests.conftest import ROOT, Cli, LocalServer, SlackServer, SmtpServer, rss, write_config

STORIES = [
    (
        "Commerce adds 80 firms to Entity List",
        "The Commerce Department added 80 firms to the Entity List.",
    ),
    (
        "Two charged with smuggling Nvidia GPUs",
        "Prosecutors charged two men with smuggling Nvidia GPUs to China.",
    ),
]
RULES = [
    {"name": "entity-list", "query": '"Entity List"'},
    {"name": "smuggling", "query": "smuggl*"},
]


def configure(
    cli: Cli, server: LocalServer, smtp: SmtpServer, slack: SlackServer, **delivery
) -> None:
    feed = server.add(
        "/f.xml",
        rss([{"title": t, "summary": s, "guid": f"g{i}"} for i, (t, s) in enumerate(STORIES)]),
    )
    config = write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": feed}],
        rules=RULES,
        fetch={"fetch_pages": False},
    )
    cli.env["SLACK_WEBHOOK_URL"] = slack.webhook_url
    (config / "alerts.yaml").write_text(
        yaml.safe_dump(
            {
                "channels": {
                    "slack": {"type": "slack", "webhook_url": "${SLACK_WEBHOOK_URL}", "timeout": 3},
                    "mail": {
                        "type": "email",
                        "host": "127.0.0.1",
                        "port": smtp.port,
                        "security": "none",
                        "from": "alerts@desk.example",
                        "to": ["desk@desk.example"],
                        "timeout": 3,
                    },
                },
                "routes": [{"name": "all", "rules": ["*"], "channels": ["slack", "mail"]}],
                "delivery": {"retry_base": "1s", **delivery},
            }
        )
    )


def statuses(cli: Cli) -> list[str]:
    return [json.loads(line)["status"] for line in cli("alerts", "--json").stdout.splitlines()]


def test_outage_keeps_alerts_pending_then_delivers_each_once(
    cli: Cli, http_server: LocalServer, smtp: SmtpServer, slack: SlackServer
) -> None:
    configure(cli, http_server, smtp, slack)
    smtp.stop()
    slack.script += [(500, "internal_error", {}), (429, "rate_limited", {"Retry-After": "1"})]
    first = cli("run-once")
    assert first.returncode == 0, first.stderr
    assert "0 sent, 4 to retry, 0 dead" in first.stdout
    assert statuses(cli) == ["pending"] * 4
    assert "SMTP server unreachable" in cli("alerts", "--status", "pending").stdout

    smtp.start()
    assert "4 pending alerts re-queued" in cli("alerts", "retry").stdout
    second = cli("run-once")
    assert "4 sent" in second.stdout, second.stdout
    assert statuses(cli) == ["sent"] * 4
    assert len(slack.delivered) == 2 and len(smtp.messages) == 2
    assert {m["Subject"] for m in smtp.messages} == {
        "[wirewatch] [entity-list] Commerce adds 80 firms to Entity List",
        "[wirewatch] [smuggling] Two charged with smuggling Nvidia GPUs",
    }
    cli("alerts", "retry")
    cli("run-once")
    assert len(slack.delivered) == 2 and len(smtp.messages) == 2, "nothing is sent twice"


def test_permanent_failures_go_dead_without_retry_storms(
    cli: Cli, http_server: LocalServer, smtp: SmtpServer, slack: SlackServer
) -> None:
    configure(cli, http_server, smtp, slack)
    slack.script += [(400, "invalid_payload", {}), (400, "invalid_payload", {})]
    smtp.recorder.reply = "550 5.1.1 mailbox unavailable"
    assert "0 sent, 0 to retry, 4 dead" in cli("run-once").stdout
    attempts = slack.attempts
    cli("alerts", "retry")
    cli("run-once")
    assert slack.attempts == attempts, "dead alerts are not retried"
    dead = cli("alerts", "--status", "dead").stdout
    assert "invalid_payload" in dead and "550" in dead
    dead_records = cli("alerts", "--status", "dead", "--json").stdout.splitlines()
    assert [json.loads(line)["attempts"] for line in dead_records] == [1] * 4

    smtp.recorder.reply = None
    assert "4 dead alerts re-queued" in cli("alerts", "retry", "--dead").stdout
    assert "4 sent" in cli("run-once").stdout


def test_crash_during_delivery_delivers_each_alert_exactly_once(
    cli: Cli, http_server: LocalServer, smtp: SmtpServer, slack: SlackServer
) -> None:
    configure(cli, http_server, smtp, slack, lease="1s")
    slack.hold = threading.Event()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run-once"],
        env=cli.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while slack.attempts == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slack.attempts == 1, "the run is blocked inside a Slack delivery"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    slack.hold.set()
    after = cli("run-once")
    assert after.returncode == 0, after.stderr
    assert "0 new articles" in after.stdout, "the articles were stored before the crash"
    deadline = time.monotonic() + 60
    while statuses(cli) != ["sent"] * 4 and time.monotonic() < deadline:
        cli("run-once")  # until the killed run's lease has expired and it is taken over
    assert statuses(cli) == ["sent"] * 4
    titles = sorted(p["text"] for p in slack.delivered)
    assert len(titles) == len(set(titles)) == 2, "each Slack alert delivered exactly once"
    assert len(smtp.messages) == 2 and len({m["Message-ID"] for m in smtp.messages}) == 2


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.digests = []
        self.lock = threading.Lock()

    def send(self, message) -> None:
        raise AssertionError("instant delivery is not expected here")

    def send_digest(self, digest) -> None:
        with self.lock:
            self.digests.append(digest)


NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
ROUTE = RouteConfig(
    name="morning",
    rules=["*"],
    channels=["desk"],
    mode="digest",
    schedule="0 8 * * *",
    timezone="Europe/Brussels",
)


def test_digest_schedule_uses_the_route_time_zone() -> None:
    assert last_fire_time(ROUTE, NOW) == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert last_fire_time(ROUTE, datetime(2026, 11, 26, 6, 59, tzinfo=UTC)) == datetime(
        2026, 11, 25, 7, 0, tzinfo=UTC
    )
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert last_fire_time(ROUTE, summer) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


def test_digest_has_each_story_once_and_is_sent_once_by_concurrent_deliverers(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    store = Store(engine)
    for number, rules in enumerate([["entity-list", "bis"], ["smuggling"]]):
        article = Article(
            url=f"https://wire.example/{number}",
            title=f"Story {number}",
            text=" ".join(f"w{number}x{i}" for i in range(50)),
            source="Wire",
        )
        matches = [Match(rule, 2.0, ("t",)) for rule in rules]
        store.save_article(
            article,
            matches,
            [PlannedAlert(r, "desk", "morning", "digest") for r in rules],
            NOW - timedelta(hours=1),
        )
    channel = Recording("desk")
    scheduled = last_fire_time(ROUTE, NOW)
    threads = [
        threading.Thread(
            target=send_digest,
            args=(store, {"desk": channel}, ROUTE, scheduled, DeliverySettings(), lambda: NOW),
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [digest] = channel.digests
    assert [(s.title, s.rules) for s in digest.stories] == [
        ("Story 0", ("entity-list", "bis")),
        ("Story 1", ("smuggling",)),
    ]
    assert {a.status for a in store.alerts()} == {"sent"}
    again = send_digest(store, {"desk": channel}, ROUTE, scheduled, DeliverySettings(), lambda: NOW)
    assert again.sent == 0 and len(channel.digests) == 1
    engine.dispose()


def test_digest_command_dry_run_then_send(cli: Cli, http_server: LocalServer) -> None:
    feed = http_server.add(
        "/d.xml",
        rss([{"title": t, "summary": s, "guid": f"d{i}"} for i, (t, s) in enumerate(STORIES)]),
    )
    config = write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": feed}],
        rules=RULES,
        fetch={"fetch_pages": False},
    )
    (config / "alerts.yaml").write_text(
        yaml.safe_dump(
            {
                "channels": {"jsonl": {"type": "file", "path": "digests.jsonl"}},
                "routes": [
                    {
                        "name": "morning",
                        "rules": ["*"],
                        "channels": ["jsonl"],
                        "mode": "digest",
                        "schedule": "0 8 * * 1-5",
                        "timezone": "Europe/Brussels",
                    }
                ],
            }
        )
    )
    assert "0 sent" in cli("run-once").stdout, "digest alerts wait for the digest"
    preview = cli("digest", "--dry-run")
    assert "digest morning" in preview.stdout and "Commerce adds 80 firms" in preview.stdout
    assert not (Path(cli.env["WIREWATCH_DATA_DIR"]) / "digests.jsonl").exists()
    assert "morning: 1 digest sent" in cli("digest").stdout
    assert "morning: 0 digests sent" in cli("digest").stdout
    [record] = [
        json.loads(line)
        for line in (Path(cli.env["WIREWATCH_DATA_DIR"]) / "digests.jsonl").read_text().splitlines()
    ]
    assert record["type"] == "digest" and len(record["stories"]) == 2


def test_channel_secrets_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, feeds=[])
    (config / "alerts.yaml").write_text(
        "channels:\n  slack:\n    type: slack\n    webhook_url: ${WW_TEST_HOOK}\n"
    )
    monkeypatch.delenv("WW_TEST_HOOK", raising=False)
    with pytest.raises(
        ConfigError,
        match=r"alerts.yaml: channels.slack.webhook_url: environment variable WW_TEST_HOOK is not set",
    ):
        load_config(config)
    monkeypatch.setenv("WW_TEST_HOOK", "https://hooks.example/x")
    assert load_config(config).alerts.channels["slack"].webhook_url == "https://hooks.example/x"


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ({"name": "d", "channels": ["c"], "mode": "digest"}, "needs a schedule"),
        (
            {"name": "d", "channels": ["c"], "mode": "digest", "schedule": "0 25 * * *"},
            "not valid crontab",
        ),
        ({"name": "d", "channels": ["c"], "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_routes_are_clear_errors(tmp_path: Path, route: dict, expected: str) -> None:
    config = write_config(tmp_path, feeds=[])
    (config / "alerts.yaml").write_text(
        yaml.safe_dump({"channels": {"c": {"type": "console"}}, "routes": [route]})
    )
    with pytest.raises(ConfigError, match=expected):
        load_config(config)
