"""Story updates end to end: real feeds on loopback, real SQLite/PostgreSQL, a Slack-like
server, a real SMTP server and the file channel; the clock is driven, never slept on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from pipeline import models as m
from pipeline.alert.email import message_id
from pipeline.alert.render_update import slack_update
from pipeline.alert.webhook import WebhookSink
from pipeline.config import WebhookChannel, load_config
from pipeline.database import installation_id
from pipeline.run import Pipeline, run_cycle
from pipeline.store import Store, make_engine, migrate
from pipeline.types import AlertMessage, UpdateMessage
from tests.conftest import LocalServer, SlackServer, SmtpServer, rss, write_config

BODY = (
    "Nvidia said it would resume sales of its H20 accelerator to customers in China after "
    "the Commerce Department signalled that export licences would be granted. The company "
    "had stopped shipping the chip in April when the government told it a licence was "
    "needed. Analysts said the decision would let the chipmaker recover part of a market "
    "it had been losing to domestic rivals, while lawmakers in Washington criticised the "
    "move as a concession. The company said it had filed applications and expected to "
    "start deliveries soon, and that customers had already placed orders for the chip."
)
V2 = (
    BODY + " Under the arrangement the government will receive 15% of the revenue from those sales."
)
V3 = (
    "Nvidia will resume H20 sales. "
    + BODY
    + " The government is to take 15 percent of the revenue."
)
V4 = V2 + " AMD's MI308 accelerator is covered by the same arrangement."
V5 = V4 + " The first shipments are worth about $2.5 billion, according to the filing."
TITLE = "Nvidia to resume H20 chip sales to China"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _setup(
    tmp_path: Path, db_url: str, server: LocalServer, slack: SlackServer, smtp: SmtpServer,
    *, updates: bool = True,
) -> tuple[Pipeline, Clock, Path]:  # fmt: skip
    config = write_config(
        tmp_path / "config",
        feeds=[{"url": server.url("/feed.xml"), "name": "Wire"}],
        rules=[{"name": "chips", "query": "H20"}],
        fetch={"fetch_pages": False},
    )
    channels = {
        "slack": {"type": "slack", "token": "xoxb-test", "channel": "C1",
                  "base_url": slack.api_url, "timeout": 3},
        "mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
                 "from": "alerts@desk.example", "to": ["desk@desk.example"], "timeout": 3},
        "jsonl": {"type": "file", "path": "alerts.jsonl"},
    }  # fmt: skip
    route = {"name": "all", "rules": ["*"], "channels": list(channels), "updates": updates}
    (config / "alerts.yaml").write_text(yaml.safe_dump({"channels": channels, "routes": [route]}))
    (config / "settings.yaml").write_text(yaml.safe_dump({"updates": {"window": "30m"}}))
    engine = make_engine(db_url)
    migrate(engine)
    clock = Clock()
    pipeline = Pipeline.build(load_config(config), Store(engine), clock=clock, base_dir=tmp_path)
    return pipeline, clock, tmp_path / "alerts.jsonl"


def _publish(server: LocalServer, *versions: str) -> None:
    items = [
        {"title": TITLE, "summary": text, "guid": f"v{n}", "link": f"http://wire.example/v{n}"}
        for n, text in enumerate(versions, start=1)
    ]
    server.add("/feed.xml", rss(items))


def _cycle(pipeline: Pipeline, clock: Clock, server: LocalServer, *versions: str) -> None:
    _publish(server, *versions)
    clock.now += timedelta(minutes=1)
    run_cycle(pipeline)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_new_facts_send_one_update_per_channel_and_rewrites_send_none(
    tmp_path: Path, db_url: str, http_server: LocalServer, slack: SlackServer, smtp: SmtpServer
) -> None:
    pipeline, clock, jsonl = _setup(tmp_path, db_url, http_server, slack, smtp)
    _cycle(pipeline, clock, http_server, BODY)
    assert [r["kind"] for r in _jsonl(jsonl)] == ["new"]
    assert len(slack.delivered) == 1 and len(smtp.messages) == 1

    _cycle(pipeline, clock, http_server, BODY, V2)  # 15% of revenue: new
    records = _jsonl(jsonl)
    assert [r["kind"] for r in records] == ["new", "update"]
    assert records[1]["new_facts"] == [
        "Under the arrangement the government will receive 15% of the revenue from those sales."
    ]
    reply = slack.delivered[1]
    assert reply["thread_ts"] == "1.1"  # the first alert's ts, kept from chat.postMessage
    assert "*Update*" in json.dumps(reply["blocks"]) and "*15%*" in json.dumps(reply["blocks"])
    update_mail = smtp.messages[1]
    installation = installation_id(pipeline.store.engine)
    first_id = message_id("chips/1/mail", "alerts@desk.example", installation)
    assert smtp.messages[0]["Message-ID"] == first_id
    assert update_mail["In-Reply-To"] == first_id == update_mail["References"]
    assert "Update: [chips] Nvidia" in update_mail["Subject"]

    _cycle(pipeline, clock, http_server, BODY, V2, V3)  # a rewrite: nothing new
    assert len(_jsonl(jsonl)) == 2 and len(slack.delivered) == 2 and len(smtp.messages) == 2
    pipeline.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_updates_within_the_window_fold_into_one(
    tmp_path: Path, db_url: str, http_server: LocalServer, slack: SlackServer, smtp: SmtpServer
) -> None:
    pipeline, clock, jsonl = _setup(tmp_path, db_url, http_server, slack, smtp)
    _cycle(pipeline, clock, http_server, BODY)
    _cycle(pipeline, clock, http_server, BODY, V2)  # the first update goes at once
    _cycle(pipeline, clock, http_server, BODY, V2, V4)  # within 30 min of it: waits
    _cycle(pipeline, clock, http_server, BODY, V2, V4, V5)  # folds into the waiting one
    assert [r["kind"] for r in _jsonl(jsonl)] == ["new", "update"]
    clock.now += timedelta(minutes=30)
    run_cycle(pipeline)
    records = _jsonl(jsonl)
    assert [r["kind"] for r in records] == ["new", "update", "update"]
    folded = " ".join(records[2]["new_facts"])
    assert "MI308" in folded and "$2.5 billion" in folded
    with pipeline.store.session() as session:
        per_article = session.execute(
            select(m.UpdateArticle.article_id, m.UpdateArticle.alert_id)
        ).all()
    assert len(per_article) == len(set(per_article)) == 3 * 3  # 3 articles × 3 channels
    pipeline.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_routes_can_opt_out_of_updates(
    tmp_path: Path, db_url: str, http_server: LocalServer, slack: SlackServer, smtp: SmtpServer
) -> None:
    pipeline, clock, jsonl = _setup(tmp_path, db_url, http_server, slack, smtp, updates=False)
    _cycle(pipeline, clock, http_server, BODY)
    _cycle(pipeline, clock, http_server, BODY, V2)
    assert [r["kind"] for r in _jsonl(jsonl)] == ["new"]
    assert len(slack.delivered) == 1
    pipeline.close()


UPDATE = UpdateMessage(
    key="update/chips/7/hook/3",
    original_key="chips/7/hook",
    rule="chips",
    story_title="Nvidia to resume H20 sales <!channel>",
    original_url="https://wire.example/h20",
    title="MI308 included",
    url="https://wire.example/mi308",
    source="Harbour Wire",
    published=datetime(2026, 11, 28, 9, 5, tzinfo=UTC),
    new_facts=("AMD's MI308 is covered <!here> & more.",),
    marked=(("MI308",),),
)


def test_webhook_json_says_new_or_update_with_new_facts(http_server: LocalServer) -> None:
    received: list[dict] = []

    def record(handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        received.append(json.loads(handler.rfile.read(length)))
        handler.send_response(204)
        handler.end_headers()

    sink = WebhookSink(
        "hook", WebhookChannel(type="webhook", url=http_server.add_handler("/h", record))
    )
    sink.send(
        AlertMessage("chips/7/hook", "chips", "t", "https://wire.example/h20", "s", 1.0, None)
    )
    sink.send_update(UPDATE)
    assert [(r["kind"], r["new_facts"]) for r in received] == [
        ("new", []),
        ("update", ["AMD's MI308 is covered <!here> & more."]),
    ]


def test_update_text_is_escaped_for_slack_and_names_the_story_without_a_thread() -> None:
    _, blocks = slack_update(UPDATE, in_thread=False)
    text = json.dumps(blocks)
    assert "<!here>" not in text and "<!channel>" not in text
    assert "&lt;!here&gt; &amp; more" in text and "*MI308*" in text
    assert (
        "Update* to <https://wire.example/h20|Nvidia to resume H20 sales &lt;!channel&gt;>" in text
    )
