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
from dataclasses import dataclass, field
from datetime import datetime

from .. import metrics, secrets
from ..alert_times import record_alerted
from ..concurrency import renewing
from ..config import DeliverySettings
from ..errors import ChannelError
from ..store import PendingAlert, Store
from ..updates_store import record_thread_ref
from .digests import retry_digests
from .outcomes import (
    Channel,
    DeliveryReport,
    as_channel_error,
    claim_owner,
    count_failure,
    next_attempt,
)
from .updates import deliver_updates

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
    one failing channel never stops the others. Due story updates (``updates.py``) and
    digest retries go out too."""
    run = _Run(store, channels, settings, now, owner or claim_owner("deliver"),
               stop or threading.Event())  # fmt: skip
    started = now()  # an alert that fails in this run is retried in a later one
    handled = 0
    while handled < limit and not run.stop.is_set():
        batch = store.claim_alerts(
            run.owner, now(), settings.lease, min(BATCH, limit - handled),
            skip_channels=run.paused, due_by=started,
        )  # fmt: skip
        if not batch:
            break
        handled += len(batch)
        run.send_batch(batch)
    if not run.stop.is_set():
        deliver_updates(store, channels, settings, now, run.owner, run.report, stop=run.stop)
    if not run.stop.is_set():
        retry_digests(store, channels, settings, now, run.report, owner=run.owner, stop=run.stop)
    return run.report


@dataclass
class _Run:
    """One ``deliver`` call: who it is, what it has done, which channels rest."""

    store: Store
    channels: Mapping[str, Channel]
    settings: DeliverySettings
    now: Callable[[], datetime]
    owner: str
    stop: threading.Event
    report: DeliveryReport = field(default_factory=DeliveryReport)
    paused: dict[str, datetime] = field(default_factory=dict)
    """Channel -> until when it asked us to wait (429 with Retry-After)."""

    def send_batch(self, batch: Sequence[PendingAlert]) -> None:
        """Send one claimed batch, renewing the lease on what is left of it meanwhile."""
        waiting = {pending.id for pending in batch}

        def renew() -> set[int]:
            return self.store.renew_alerts(sorted(waiting), self.owner, self.lease_end())

        with renewing(renew, self.settings.lease.total_seconds() / 3, "alert lease renewal"):
            for pending in batch:
                if self.stop.is_set():
                    break
                if pending.channel in self.paused:
                    until = self.paused[pending.channel]
                    self.store.release_alerts([pending.id], self.owner, retry_at=until)
                elif pending.id in renew():
                    # Renewed per send with the rest of the batch (and in the background
                    # while it is sent): however slow the sends before it were, the
                    # alert is still ours, or someone else's and not sent here.
                    self.send(pending)
                else:
                    self.report.lost += 1
                    log.warning("alert %s: lease lost before sending; left to its new holder",
                                pending.message.key)  # fmt: skip
                waiting.discard(pending.id)
        if waiting:  # stopped: hand the rest back now rather than when the lease expires
            self.store.release_alerts(sorted(waiting), self.owner)

    def send(self, pending: PendingAlert) -> None:
        channel = self.channels.get(pending.channel)
        try:
            if channel is None:
                raise ChannelError(f"no channel named {pending.channel!r}", permanent=False)
            ref = channel.send(pending.message)
        except Exception as exc:
            self.failed(pending, as_channel_error(exc))
            return
        sent_at = self.now()
        if self.store.mark_sent(pending.id, sent_at, owner=self.owner):
            # When the article alerted (time-to-alert), and the receiver's id of the
            # message (Slack ``ts``) so that updates can reply in its thread.
            record_alerted(self.store, pending.id, sent_at)
            if isinstance(ref, str):
                record_thread_ref(self.store, pending.id, ref)
        else:
            self.lost(pending.message.key)
        self.report.sent += 1
        metrics.DELIVERIES.labels("sent").inc()

    def failed(self, pending: PendingAlert, error: ChannelError) -> None:
        retry_at = next_attempt(error, pending.attempts + 1, self.settings, self.now())
        if not self.store.mark_failed(
            pending.id, secrets.mask(str(error)), retry_at=retry_at, owner=self.owner
        ):
            self.lost(pending.message.key)
        if error.retry_after is not None and retry_at is not None:
            self.paused[pending.channel] = retry_at  # the channel asked us to wait: all of it
            self.store.postpone_channel(pending.channel, retry_at)
        count_failure(self.report, pending.message.key, pending.channel, error, retry_at)

    def lease_end(self) -> datetime:
        return self.now() + self.settings.lease

    def lost(self, key: str) -> None:
        self.report.lost += 1
        log.error("%s: its lease was lost while sending; another deliverer may send it again",
                  key)  # fmt: skip
