"""Routing by names and tags; channels and logs that never leak or trust too much."""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from pipeline.alert import build_channels, plan_alerts
from pipeline.alert.email import EmailSink, message_id, tls_context
from pipeline.alert.render import email_alert
from pipeline.alert.slack import SlackSink
from pipeline.alert.webhook import WebhookSink
from pipeline.config import (
    AlertsFile,
    ConfigError,
    RouteConfig,
    SlackChannel,
    WebhookChannel,
    load_config,
)
from pipeline.errors import ConfigError as ConfigErrorBase
from pipeline.secrets import MaskingFilter, mask
from pipeline.types import Match
from tests.conftest import LocalServer, SlackServer, SmtpServer, write_config
from tests.test_channels import MESSAGE, email_channel

ROOT = Path(__file__).resolve().parent.parent


def test_a_route_by_tags_takes_only_tagged_rules() -> None:
    route = RouteConfig(name="digest", tags=["export-controls"], channels=["mail"])
    tagged = Match(rule="entity-list", score=1, terms=(), tags=("export-controls",))
    untagged = Match(rule="weather", score=1, terms=(), tags=("misc",))
    planned = plan_alerts([tagged, untagged], [route])
    assert [plan.rule for plan in planned] == ["entity-list"]


def test_a_route_without_rules_or_tags_is_a_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, feeds=[])
    (tmp_path / "alerts.yaml").write_text(
        "channels:\n  c: {type: console}\nroutes:\n  - name: lost\n    channels: [c]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'alerts.yaml'}: routes[0] (lost)")
    assert "rules:" in str(caught.value) and "tags:" in str(caught.value)


def test_the_shipped_digest_example_routes_tagged_rules_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_WEBHOOK_URL", "SMTP_USERNAME", "SMTP_PASSWORD", "WIREWATCH_WEBHOOK_SECRET"):
        monkeypatch.setenv(name, "https://hooks.slack.com/services/T/B/x")
    shipped = (ROOT / "config" / "alerts.yaml").read_text()
    example = "\n".join(
        line.replace("  # ", "  ", 1) if line.startswith("  # ") else line
        for line in shipped.splitlines()
    )
    write_config(tmp_path, feeds=[])
    (tmp_path / "alerts.yaml").write_text(example)
    config = load_config(tmp_path)
    digest = next(route for route in config.alerts.routes if route.mode == "digest")
    assert digest.tags and not digest.accepts("any-rule", ("unrelated",), 10)
    assert digest.accepts("any-rule", (digest.tags[0],), 10)


def test_allow_hosts_without_a_port_is_refused_with_file_and_key(tmp_path: Path) -> None:
    write_config(tmp_path, feeds=[], fetch={"allow_hosts": ["127.0.0.1"]})
    with pytest.raises(ConfigErrorBase) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert "feeds.yaml" in message and "allow_hosts" in message and "needs a port" in message


def test_email_html_links_only_http_urls() -> None:
    hostile = replace(MESSAGE, url="javascript:alert(document.cookie)")
    _, _, html = email_alert(hostile)
    assert "javascript:" not in html and "href" not in html.split("<h2", 1)[1].split("</h2>")[0]
    _, _, fine = email_alert(MESSAGE)
    assert f'href="{MESSAGE.url}"' in fine


def test_email_ca_file_adds_to_the_system_cas(tmp_path: Path) -> None:
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    if system == 0:
        pytest.skip("no system CA bundle on this machine")
    ca_file = tmp_path / "relay-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    assert tls_context(str(ca_file)).cert_store_stats()["x509_ca"] == system + 1


def test_message_id_and_idempotency_key_carry_the_installation(
    smtp: SmtpServer, http_server: LocalServer
) -> None:
    assert message_id("k", "a@b.example", "one") != message_id("k", "a@b.example", "two")
    EmailSink("mail", email_channel(smtp), installation="one").send(MESSAGE)
    assert smtp.messages[0]["Message-ID"] == message_id(MESSAGE.key, "alerts@desk.example", "one")
    keys = []

    def respond(handler) -> None:  # type: ignore[no-untyped-def]
        handler.rfile.read(int(handler.headers["Content-Length"]))
        keys.append(handler.headers["Idempotency-Key"])
        handler.send_response(204)
        handler.end_headers()

    url = http_server.add_handler("/hook", respond)
    for installation in ("one", "two"):
        WebhookSink("h", WebhookChannel(type="webhook", url=url), installation=installation).send(
            MESSAGE
        )
    assert keys[0] != keys[1]


def test_webhook_user_headers_cannot_override_signature_headers(
    http_server: LocalServer,
) -> None:
    received = []

    def respond(handler) -> None:  # type: ignore[no-untyped-def]
        handler.rfile.read(int(handler.headers["Content-Length"]))
        received.append(dict(handler.headers.items()))
        handler.send_response(204)
        handler.end_headers()

    url = http_server.add_handler("/hook", respond)
    forged = {
        "X-Wirewatch-Signature": "sha256=forged",
        "x-wirewatch-timestamp": "1",
        "Idempotency-Key": "same-for-all",
        "X-Team": "desk",
    }
    channel = WebhookChannel(type="webhook", url=url, secret="s3cret", headers=forged)
    WebhookSink("hook", channel).send(MESSAGE)
    headers = {k.lower(): v for k, v in received[0].items()}
    assert headers["x-wirewatch-signature"] != "sha256=forged"
    assert headers["x-wirewatch-timestamp"] != "1"
    assert headers["idempotency-key"] != "same-for-all"
    assert headers["x-team"] == "desk"


def test_secrets_are_masked() -> None:
    assert mask("postgresql://u:s3cr%40t@db/x") == "postgresql://u:***@db/x"
    assert mask("POST https://hooks.slack.com/services/T0/B0/abcdef ok") == (
        "POST https://hooks.slack.com/services/*** ok"
    )


def test_slack_debug_logging_never_shows_the_webhook_url(
    slack: SlackServer, caplog: pytest.LogCaptureFixture
) -> None:
    """slack_sdk logs the webhook URL at debug level: the masking filter hides it."""
    channels = build_channels(
        AlertsFile(channels={"s": SlackChannel(type="slack", webhook_url=slack.webhook_url)}),
        Path("."),
    )
    handler_filter = MaskingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.DEBUG):
            channels["s"].send(MESSAGE)
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert isinstance(channels["s"], SlackSink)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "slack" in logged.lower()  # slack_sdk did log the request
    assert slack.webhook_url not in logged and "/services/T000/B000/XXXX" not in logged
    assert json.dumps(logged)
