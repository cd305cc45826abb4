"""Each channel against a real local receiver: Slack (slack_sdk), SMTP (aiosmtpd), webhook."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from pipeline.alert.email import EmailSink
from pipeline.alert.render import SLACK_TEXT_LIMIT
from pipeline.alert.slack import SlackSink, classify
from pipeline.alert.webhook import WebhookSink
from pipeline.config import EmailChannel, SlackChannel, WebhookChannel
from pipeline.errors import ChannelError
from pipeline.types import AlertMessage, DigestMessage, DigestStory
from tests.conftest import LocalServer, SlackServer, SmtpServer

MESSAGE = AlertMessage(
    key="entity-list/7/desk",
    rule="entity-list",
    title="Commerce adds 80 firms to Entity List",
    url="https://wire.example/entity-list",
    source="Harbour Wire",
    score=7.5,
    published=datetime(2026, 11, 25, 8, 30, tzinfo=UTC),
    highlights=(
        "Commerce adds 80 firms to **Entity List**",
        "Firms on the **Entity List** need a licence.",
    ),
    outlets=("Ledger Tech Daily", "Chip Policy Digest"),
)
HOSTILE = AlertMessage(
    key="x/1/c",
    rule="r",
    title="<!channel> <script>alert(1)</script> & <@U123> " + "x" * 5000,
    url="https://wire.example/a?q=<b>",
    source="<b>Evil</b>",
    score=1.0,
    published=None,
    highlights=("**<!here>** " + "word " * 200_000,),
)


def email_channel(smtp: SmtpServer, **extra) -> EmailChannel:
    return EmailChannel(
        type="email",
        host="127.0.0.1",
        port=smtp.port,
        security="none",
        **{"from": "wirewatch <alerts@desk.example>"},
        to=["analyst@desk.example"],
        **extra,
    )


def test_email_is_multipart_with_stable_message_id(smtp: SmtpServer) -> None:
    sink = EmailSink(
        "mail", email_channel(smtp, list_unsubscribe="mailto:unsubscribe@desk.example")
    )
    sink.send(MESSAGE)
    sink.send(MESSAGE)
    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"], "the same alert keeps its Message-ID"
    assert first["Message-ID"].endswith("@desk.example>")
    assert (
        first["From"] == "wirewatch <alerts@desk.example>" and first["To"] == "analyst@desk.example"
    )
    assert first["Subject"] == "[wirewatch] [entity-list] Commerce adds 80 firms to Entity List"
    assert first["Date"] and first["List-Unsubscribe"] == "<mailto:unsubscribe@desk.example>"
    assert first.get_content_type() == "multipart/alternative"
    text = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert (
        "https://wire.example/entity-list" in text
        and "Firms on the Entity List need a licence." in text
    )
    assert (
        '<a href="https://wire.example/entity-list">Commerce adds 80 firms to Entity List</a>'
        in html
    )
    assert "<strong>Entity List</strong>" in html and "Ledger Tech Daily" in html


def test_hostile_text_is_escaped_in_email(smtp: SmtpServer) -> None:
    EmailSink("mail", email_channel(smtp)).send(HOSTILE)
    [message] = smtp.messages
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert len(message.as_bytes()) < 20_000, "a 1 MB body does not become a 1 MB email"


@pytest.mark.parametrize(
    ("reply", "permanent"), [("451 4.3.0 try later", False), ("550 5.1.1 no such user", True)]
)
def test_smtp_4xx_is_temporary_and_5xx_permanent(
    smtp: SmtpServer, reply: str, permanent: bool
) -> None:
    smtp.recorder.reply = reply
    with pytest.raises(ChannelError) as caught:
        EmailSink("mail", email_channel(smtp)).send(MESSAGE)
    assert caught.value.permanent is permanent and reply[:3] in str(caught.value)


def test_smtp_down_is_temporary(smtp: SmtpServer) -> None:
    smtp.stop()
    with pytest.raises(ChannelError) as caught:
        EmailSink("mail", email_channel(smtp, timeout=2)).send(MESSAGE)
    assert not caught.value.permanent


def test_slack_webhook_posts_block_kit(slack: SlackServer) -> None:
    SlackSink("desk", SlackChannel(type="slack", webhook_url=slack.webhook_url)).send(MESSAGE)
    [payload] = slack.delivered
    assert (
        payload["text"]
        == "[entity-list] Commerce adds 80 firms to Entity List https://wire.example/entity-list"
    )
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert texts[0].startswith(
        "*<https://wire.example/entity-list|Commerce adds 80 firms to Entity List>*"
    )
    assert "rule *entity-list*" in texts[0] and "2026-11-25 08:30 UTC" in texts[0]
    assert texts[1] == "> Commerce adds 80 firms to *Entity List*"
    context = next(b for b in payload["blocks"] if b["type"] == "context")
    assert "Ledger Tech Daily, Chip Policy Digest" in context["elements"][0]["text"]


def test_slack_bot_token_uses_chat_post_message(slack: SlackServer) -> None:
    channel = SlackChannel(
        type="slack", token="xoxb-test", channel="#export-controls", base_url=slack.api_url
    )
    SlackSink("desk", channel).send(MESSAGE)
    [payload] = slack.delivered
    assert payload["channel"] == "#export-controls" and payload["blocks"]
    assert slack.server.requests["/api/chat.postMessage"][0]["Authorization"] == "Bearer xoxb-test"


def test_hostile_text_is_escaped_and_cut_for_slack(slack: SlackServer) -> None:
    SlackSink("desk", SlackChannel(type="slack", webhook_url=slack.webhook_url)).send(HOSTILE)
    [payload] = slack.delivered
    raw = json.dumps(payload)
    assert "<!channel>" not in raw and "<!here>" not in raw and "<@U123>" not in raw
    assert "&lt;!channel&gt;" in raw and "&lt;script&gt;" in raw
    assert all(
        len(b["text"]["text"]) <= SLACK_TEXT_LIMIT
        for b in payload["blocks"]
        if b["type"] == "section"
    )
    assert len(raw) < 20_000


@pytest.mark.parametrize(
    ("status", "body", "headers", "permanent", "retry_after"),
    [
        (500, "internal_error", {}, False, None),
        (429, "rate_limited", {"Retry-After": "7"}, False, 7.0),
        (400, "invalid_payload", {}, True, None),
        (404, "channel_not_found", {}, True, None),
        (410, "channel_is_archived", {}, True, None),
        (404, "no_service", {}, True, None),
        (403, "invalid_token", {}, True, None),
    ],
)
def test_slack_errors_are_classified(
    slack: SlackServer, status, body, headers, permanent, retry_after
) -> None:
    slack.script.append((status, body, headers))
    with pytest.raises(ChannelError) as caught:
        SlackSink("desk", SlackChannel(type="slack", webhook_url=slack.webhook_url)).send(MESSAGE)
    assert caught.value.permanent is permanent and caught.value.retry_after == retry_after
    assert body in str(caught.value)


def test_slack_api_errors_arrive_with_http_200() -> None:
    assert classify(200, None, {}) is None
    assert classify(200, "channel_not_found", {}).permanent
    assert not classify(200, "ratelimited", {}).permanent


def test_digest_to_slack_lists_each_story_once(slack: SlackServer) -> None:
    stories = tuple(
        DigestStory(
            f"Story {n}",
            f"https://wire.example/{n}",
            "Harbour Wire",
            None,
            ("entity-list", "bis-rules"),
            3.0,
        )
        for n in range(60)
    )
    digest = DigestMessage(
        "digest/morning/desk/t",
        "morning",
        datetime(2026, 11, 26, 7, tzinfo=UTC),
        "Europe/Brussels",
        stories,
    )
    SlackSink("desk", SlackChannel(type="slack", webhook_url=slack.webhook_url)).send_digest(digest)
    [payload] = slack.delivered
    assert len(payload["blocks"]) <= 50, "Slack's block limit"
    assert "2026-11-26 08:00 CET" in json.dumps(payload), "shown in the route's time zone"
    assert "entity-list, bis-rules" in payload["blocks"][2]["text"]["text"]
    assert "more stories" in json.dumps(payload["blocks"][-1])


def test_webhook_is_signed_and_idempotent(http_server: LocalServer) -> None:
    received = []

    def respond(handler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        received.append((dict(handler.headers.items()), body))
        handler.send_response(204)
        handler.end_headers()

    url = http_server.add_handler("/hook", respond)
    sink = WebhookSink("hook", WebhookChannel(type="webhook", url=url, secret="s3cret"))
    sink.send(MESSAGE)
    sink.send(MESSAGE)
    (headers, body), (again, _) = received
    expected = hmac.new(
        b"s3cret", headers["X-Wirewatch-Timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["X-Wirewatch-Signature"] == "sha256=" + expected.hexdigest()
    assert headers["Idempotency-Key"] == again["Idempotency-Key"]
    payload = json.loads(body)
    assert payload["type"] == "alert" and payload["rule"] == "entity-list"
    assert payload["published"] == "2026-11-25T08:30:00+00:00"


@pytest.mark.parametrize(
    ("status", "permanent"), [(500, False), (429, False), (404, True), (401, True)]
)
def test_webhook_errors_are_classified(
    http_server: LocalServer, status: int, permanent: bool
) -> None:
    url = http_server.add("/hook", "no", status=status, headers={"Retry-After": "3"})
    with pytest.raises(ChannelError) as caught:
        WebhookSink("hook", WebhookChannel(type="webhook", url=url)).send(MESSAGE)
    assert caught.value.permanent is permanent
