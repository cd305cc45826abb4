"""Alerting: which matches become alerts (pure), and delivery of the outbox.

A channel is anything with ``name``, ``send(AlertMessage)`` and
``send_digest(DigestMessage)``; each kind lives in its own module (``console.py``,
``file.py``, ``slack.py``, ``email.py``, ``webhook.py``) and is registered in
``CHANNEL_TYPES``. Adding one is one new file plus one line here.

Alerts are planned when an article is stored and written in the same transaction as its
matches (the outbox). ``deliver`` claims due instant alerts with a lease, sends each once,
and records the outcome; ``send_digest`` claims one digest per (route, channel, schedule
time). A crash loses nothing: pending rows stay pending, and a lease that is not released
expires so that another run takes the alert over.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from .. import metrics
from ..alert_times import record_alerted
from ..config import (
    AlertsFile,
    ConsoleChannel,
    DeliverySettings,
    EmailChannel,
    FileChannel,
    RouteConfig,
    SlackChannel,
    WebhookChannel,
)
from ..errors import ChannelError
from ..store import PlannedAlert, Store
from ..types import AlertMessage, DigestMessage, Match
from ..updates_store import record_thread_ref
from .console import ConsoleSink
from .email import EmailSink
from .file import JsonlSink
from .slack import SlackSink
from .updates import deliver_updates
from .webhook import WebhookSink

log = logging.getLogger(__name__)


class Channel(Protocol):
    name: str

    def send(self, message: AlertMessage) -> object:
        """Deliver one alert or raise ``ChannelError``; may return the receiver's id of
        the message (Slack ``ts``), kept so that updates can reply in its thread."""

    def send_digest(self, digest: DigestMessage) -> None:
        """Deliver one digest or raise ``ChannelError``."""


CHANNEL_TYPES: dict[type, Callable[[str, Any, Path], Channel]] = {
    ConsoleChannel: lambda name, config, base_dir: ConsoleSink(name),
    FileChannel: lambda name, config, base_dir: JsonlSink(name, _resolve(config.path, base_dir)),
    SlackChannel: lambda name, config, base_dir: SlackSink(name, config),
    EmailChannel: lambda name, config, base_dir: EmailSink(name, config),
    WebhookChannel: lambda name, config, base_dir: WebhookSink(name, config),
}


def build_channels(alerts: AlertsFile, base_dir: Path) -> dict[str, Channel]:
    return {
        name: CHANNEL_TYPES[type(config)](name, config, base_dir)
        for name, config in alerts.channels.items()
    }


def _resolve(path: str, base_dir: Path) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def worker_id() -> str:
    """Who holds a lease: host and process, readable in ``wirewatch alerts``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def plan_alerts(matches: Sequence[Match], routes: Sequence[RouteConfig]) -> list[PlannedAlert]:
    """Every (rule, channel) that the routes send these matches to, each once; the first
    route that reaches a channel decides the mode (instant or digest)."""
    planned: dict[tuple[str, str], PlannedAlert] = {}
    for match in matches:
        for route in routes:
            if not route.accepts(match.rule, match.tags, match.score):
                continue
            for channel in route.channels:
                planned.setdefault(
                    (match.rule, channel), PlannedAlert(match.rule, channel, route.name, route.mode)
                )
    return list(planned.values())


def retry_delay(
    attempt: int, settings: DeliverySettings, rng: random.Random | None = None
) -> timedelta:
    """Exponential backoff with jitter (50–100% of the step), capped at ``retry_max``."""
    ceiling = min(settings.retry_max, settings.retry_base * 2 ** min(max(attempt - 1, 0), 16))
    return ceiling * (rng or random).uniform(0.5, 1.0)


def next_attempt(
    error: ChannelError, attempt: int, settings: DeliverySettings, now: datetime
) -> datetime | None:
    """When to try again, or ``None``: the alert is dead (permanent, or out of attempts)."""
    if error.permanent or attempt >= settings.max_attempts:
        return None
    delay = retry_delay(attempt, settings)
    if error.retry_after is not None:
        delay = max(delay, timedelta(seconds=error.retry_after))
    return now + delay


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def deliver(
    store: Store,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    *,
    owner: str | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Claim the due instant alerts and send each once; one failing channel never stops
    the others. Due digest retries go out too."""
    report = DeliveryReport()
    owner = owner or worker_id()
    for pending in store.claim_alerts(owner, now(), settings.lease, limit):
        channel = channels.get(pending.channel)
        try:
            if channel is None:
                raise ChannelError(f"no channel named {pending.channel!r}", permanent=False)
            ref = channel.send(pending.message)
        except Exception as exc:
            error = _as_channel_error(exc)
            retry_at = next_attempt(error, pending.attempts + 1, settings, now())
            store.mark_failed(pending.id, str(error), retry_at=retry_at)
            _count_failure(report, pending.message.key, pending.channel, error, retry_at)
            continue
        store.mark_sent(pending.id, now())
        _after_sent(store, pending.id, ref, now())
        report.sent += 1
        metrics.DELIVERIES.labels("sent").inc()
    deliver_updates(store, channels, settings, now, owner, report)
    retry_digests(store, channels, settings, now, report)
    return report


def _after_sent(store: Store, alert_id: int, ref: object, now: datetime) -> None:
    """Keep when the article alerted, and the receiver's message id for threading."""
    record_alerted(store, alert_id, now)
    if isinstance(ref, str):
        record_thread_ref(store, alert_id, ref)


def _as_channel_error(exc: Exception) -> ChannelError:
    if isinstance(exc, ChannelError):
        return exc
    log.exception("channel raised an unexpected error")
    return ChannelError(f"unexpected error: {type(exc).__name__}: {exc}", permanent=False)


def _count_failure(
    report: DeliveryReport, key: str, channel: str, error: ChannelError, retry_at: datetime | None
) -> None:
    report.errors.append(f"{channel}: {error}")
    metrics.DELIVERIES.labels("dead" if retry_at is None else "retry").inc()
    if retry_at is None:
        report.dead += 1
        log.error("alert %s to %s is dead: %s", key, channel, error)
    else:
        report.retrying += 1
        log.warning("alert %s to %s failed, retry at %s: %s", key, channel, retry_at, error)


# --------------------------------------------------------------------------- digests


def last_fire_time(route: RouteConfig, now: datetime) -> datetime:
    """The most recent time at or before ``now`` that the route's schedule fired: every
    worker computes the same value, which keys the digest so it is sent once."""
    trigger = route.trigger()
    fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
    previous = fire
    while fire is not None and fire <= now:
        previous = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return previous or now


def send_digest(
    store: Store,
    channels: Mapping[str, Channel],
    route: RouteConfig,
    scheduled_for: datetime,
    settings: DeliverySettings,
    now: Callable[[], datetime],
) -> DeliveryReport:
    """Claim and send the digest of ``route`` for ``scheduled_for`` on each of its channels.
    A digest already claimed (by this or another worker) is skipped."""
    report = DeliveryReport()
    for channel_name in route.channels:
        claimed = store.claim_digest(route.name, channel_name, scheduled_for, route.timezone, now())
        if claimed is None:
            continue
        digest_id, digest = claimed
        _send_one_digest(store, channels, channel_name, digest_id, digest, settings, now, report)
    return report


def retry_digests(
    store: Store,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    report: DeliveryReport,
) -> None:
    for digest_id, channel_name, digest in store.due_digest_retries(now()):
        _send_one_digest(store, channels, channel_name, digest_id, digest, settings, now, report)


def _send_one_digest(
    store: Store,
    channels: Mapping[str, Channel],
    channel_name: str,
    digest_id: int,
    digest: DigestMessage,
    settings: DeliverySettings,
    now: Callable[[], datetime],
    report: DeliveryReport,
) -> None:
    try:
        channel = channels.get(channel_name)
        if channel is None:
            raise ChannelError(f"no channel named {channel_name!r}", permanent=False)
        channel.send_digest(digest)
    except Exception as exc:
        error = _as_channel_error(exc)
        attempts = store.digest_attempts(digest_id) + 1
        retry_at = next_attempt(error, attempts, settings, now())
        store.fail_digest(digest_id, str(error), retry_at=retry_at)
        _count_failure(report, digest.key, channel_name, error, retry_at)
        return
    store.finish_digest(digest_id, now())
    report.sent += 1


def preview_digest(store: Store, route: RouteConfig, now: datetime) -> list[DigestMessage]:
    """The digests ``route`` would send now, per channel, without claiming anything."""
    previews = []
    for channel_name in route.channels:
        digest = store.pending_digest(route.name, channel_name, now, route.timezone)
        if digest.stories:
            previews.append(digest)
    return previews


__all__ = [
    "CHANNEL_TYPES",
    "Channel",
    "DeliveryReport",
    "build_channels",
    "deliver",
    "last_fire_time",
    "plan_alerts",
    "preview_digest",
    "send_digest",
    "worker_id",
]
