"""Delivering the outbox: instant alerts in small leased batches, and digests.

``deliver`` claims a few due alerts at a time (``BATCH``) under a lease that is renewed
while they are being sent, so a batch slower than its lease is never taken over by
another deliverer; each outcome is recorded only if this deliverer still holds the
alert. It stops between sends once ``stop`` is set (claimed alerts not yet sent are
handed back at once), and a channel that answers 429 (any error with Retry-After)
rests: its other alerts wait for the time it asked for, in this run and every other.

Exactly once, with one window: a message the channel accepted just before the process
died, before ``sent`` was recorded, is sent again by whoever takes the alert over once
its lease expires (a Slack webhook has no idempotency key). See docs/alerts.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from .. import metrics
from ..concurrency import renewing
from ..config import DeliverySettings
from ..errors import ChannelError
from ..store import PendingAlert, Store
from .digests import retry_digests
from .outcomes import (
    Channel,
    DeliveryReport,
    as_channel_error,
    claim_owner,
    count_failure,
    next_attempt,
)

log = logging.getLogger(__name__)

BATCH = 10
"""Alerts claimed at a time: few, so a slow channel holds few alerts away from others."""


def deliver(
    store: Store,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    *,
    owner: str | None = None,
    limit: int = 200,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` due instant alerts, each once, ``BATCH`` claimed at a time;
    one failing channel never stops the others. Due digest retries go out too."""
    report = DeliveryReport()
    owner = owner or claim_owner("deliver")
    stop = stop or threading.Event()
    paused: dict[str, datetime] = {}
    handled = 0
    while handled < limit and not stop.is_set():
        batch = store.claim_alerts(
            owner, now(), settings.lease, min(BATCH, limit - handled), skip_channels=paused
        )
        if not batch:
            break
        handled += len(batch)
        _send_batch(store, channels, settings, now, owner, batch, paused, stop, report)
    if not stop.is_set():
        retry_digests(store, channels, settings, now, report, owner=owner, stop=stop)
    return report


def _send_batch(
    store: Store,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    owner: str,
    batch: Sequence[PendingAlert],
    paused: dict[str, datetime],
    stop: threading.Event,
    report: DeliveryReport,
) -> None:
    """Send one claimed batch, renewing the lease on what is left of it meanwhile."""
    waiting = {pending.id for pending in batch}

    def renew() -> None:
        store.renew_alerts(sorted(waiting), owner, now() + settings.lease)

    with renewing(renew, settings.lease.total_seconds() / 3, "alert lease renewal"):
        for pending in batch:
            if stop.is_set():
                break
            if pending.channel in paused:
                store.release_alerts([pending.id], owner, retry_at=paused[pending.channel])
            else:
                _renew_and_send(store, channels, settings, now, owner, pending, waiting, paused,
                                report)  # fmt: skip
            waiting.discard(pending.id)
    if waiting:  # stopped: hand the rest back now rather than when the lease expires
        store.release_alerts(sorted(waiting), owner)


def _renew_and_send(
    store: Store,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    owner: str,
    pending: PendingAlert,
    waiting: set[int],
    paused: dict[str, datetime],
    report: DeliveryReport,
) -> None:
    """Renew per send, the rest of the batch with it (the background renewal keeps
    covering the alert in progress): however slow the sends before it were, an alert
    is still ours when its turn comes, or someone else's and not sent here."""
    held = store.renew_alerts(sorted(waiting), owner, now() + settings.lease)
    if pending.id in held:
        _send_alert(store, channels, settings, now, owner, pending, paused, report)
    else:
        report.lost += 1
        log.warning("alert %s: lease lost before sending; left to its new holder",
                    pending.message.key)  # fmt: skip


def _send_alert(
    store: Store,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    owner: str,
    pending: PendingAlert,
    paused: dict[str, datetime],
    report: DeliveryReport,
) -> None:
    channel = channels.get(pending.channel)
    try:
        if channel is None:
            raise ChannelError(f"no channel named {pending.channel!r}", permanent=False)
        channel.send(pending.message)
    except Exception as exc:
        error = as_channel_error(exc)
        retry_at = next_attempt(error, pending.attempts + 1, settings, now())
        if not store.mark_failed(pending.id, str(error), retry_at=retry_at, owner=owner):
            _lost(report, pending.message.key)
        if error.retry_after is not None and retry_at is not None:
            paused[pending.channel] = retry_at  # the channel asked us to wait: all of it
            store.postpone_channel(pending.channel, retry_at)
        count_failure(report, pending.message.key, pending.channel, error, retry_at)
        return
    if not store.mark_sent(pending.id, now(), owner=owner):
        _lost(report, pending.message.key)
    report.sent += 1
    metrics.DELIVERIES.labels("sent").inc()


def _lost(report: DeliveryReport, key: str) -> None:
    report.lost += 1
    log.error("%s: its lease was lost while sending; another deliverer may send it again", key)
