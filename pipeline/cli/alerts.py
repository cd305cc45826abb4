"""The outbox: ``alerts`` lists it; ``alerts retry`` and ``alerts test`` act on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..clock import utcnow
from ..display import columns, cut, plural, when
from ..errors import ConfigError
from .common import Env, echo_json, friendly_errors

if TYPE_CHECKING:
    from ..listing import AlertLine

TITLE_WIDTH = 50
HEADER = ("ID", "STATUS", "CHANNEL", "RULE", "CREATED", "TRIES", "TITLE", "URL")


@click.group(invoke_without_command=True)
@click.option(
    "--status", type=click.Choice(["pending", "sending", "sent", "dead"]), help="Only this status."
)
@click.option("--limit", default=50, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert and line.")
@click.pass_context
@friendly_errors
def alerts(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """List alerts in the outbox, newest first (subcommands: retry, test).

    Each alert is one (rule, story, channel): pending until sent, retried with backoff on
    temporary failures, dead after a permanent failure or too many attempts. Alerts of
    a digest route stay pending until their digest is sent.
    """
    from ..listing import alert_lines

    if ctx.invoked_subcommand is not None:
        return
    found = alert_lines(ctx.obj.read_store(), status, limit)
    if as_json:
        for line in found:
            echo_json(alert_record(line))
        return
    if not found:
        click.echo("no alerts" + (f" with status {status}" if status else ""))
        return
    click.echo("\n".join(alert_table(found)))


def alert_table(found: list[AlertLine]) -> list[str]:
    """Aligned columns; an alert's last error on its own line under it."""
    rows = [HEADER] + [
        (
            f"#{line.id}",
            line.status
            + (" (digest)" if line.mode == "digest" and line.status == "pending" else ""),
            line.channel,
            line.rule,
            when(line.created_at),
            str(line.attempts),
            cut(line.title or "(untitled)", TITLE_WIDTH).ljust(TITLE_WIDTH),
            line.url,
        )
        for line in found
    ]
    lines = columns(rows)
    out = [lines[0]]
    for line, text in zip(found, lines[1:], strict=True):
        out.append(text)
        if line.status == "sending" and line.lease_owner:
            out.append(f"    held by {line.lease_owner} until {when(line.lease_until)}")
        if line.last_error:
            out.append(f"    last error: {cut(line.last_error, 200)}")
    return out


def alert_record(line: AlertLine) -> dict[str, Any]:
    """The ``alerts --json`` contract: one object per alert."""
    return {
        "id": line.id,
        "status": line.status,
        "mode": line.mode,
        "channel": line.channel,
        "rule": line.rule,
        "story": line.story_id,
        "title": line.title,
        "url": line.url,
        "created_at": line.created_at.isoformat(),
        "sent_at": line.sent_at.isoformat() if line.sent_at else None,
        "next_attempt_at": line.next_attempt_at.isoformat() if line.next_attempt_at else None,
        "attempts": line.attempts,
        "last_error": line.last_error,
        "lease_owner": line.lease_owner if line.status == "sending" else None,
        "lease_until": (
            line.lease_until.isoformat() if line.lease_until and line.status == "sending" else None
        ),
    }


@alerts.command("retry")
@click.option("--dead", is_flag=True, help="Re-queue dead alerts (with fresh attempts).")
@click.pass_obj
@friendly_errors
def alerts_retry(env: Env, dead: bool) -> None:
    """Make alerts due now: those waiting for a retry, or with --dead the dead ones.

    They are sent by the next `wirewatch run-once` or within 30 s by a running worker.
    """
    count = env.store().requeue(utcnow(), dead=dead)
    click.echo(f"{plural(count, ('dead' if dead else 'pending') + ' alert')} re-queued")


@alerts.command("test")
@click.argument("channel")
@click.pass_obj
@friendly_errors
def alerts_test(env: Env, channel: str) -> None:
    """Send a test alert through CHANNEL (a name in alerts.yaml) and report the result."""
    from ..alert import build_channels
    from ..database import data_dir
    from ..types import AlertMessage

    channels = build_channels(env.config.alerts, data_dir())
    if channel not in channels:
        known = ", ".join(sorted(channels)) or "none"
        raise ConfigError(f"no channel named {channel!r} in alerts.yaml (known: {known})")
    message = AlertMessage(
        key=f"test/{channel}/{utcnow().isoformat()}",
        rule="test",
        title="wirewatch test alert: this channel works",
        url="https://github.com/wirewatch/wirewatch",
        source="wirewatch",
        score=1.0,
        published=utcnow(),
        highlights=("This is a **test** message sent by `wirewatch alerts test`.",),
        description="A test of the channel, not a match.",
    )
    channels[channel].send(message)
    click.echo(f"test alert sent to {channel}")
