"""Delivering the outbox: instant alerts in small leased batches, and digests.

``deliver`` claims a few due alerts at a time (``BATCH``) under a lease that is renewed
while they are being sent, so a batch slower than its lease is never taken over by
another deliverer. Each batch goes out as one message per (story, channel) naming every
rule that fired on the story (``compose.py``); its outcome is recorded on each alert of
the group that this deliverer still holds. It stops between sends once ``stop`` is set
(claimed alerts not yet sent are handed back at once), and a channel that answers 429
(any error with Retry-After) rests: its other alerts wait for the time it asked for, in
this run and every other.

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
from .compose import RuleInfo, by_story, combine, describe
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
    rules: Sequence[RuleInfo] = (),
) -> DeliveryReport:
    """Send up to ``limit`` due instant alerts, ``BATCH`` claimed at a time, as one
    message per (story, channel) naming every rule that fired; one failing channel never
    stops the others. ``rules`` (rules.yaml) gives each rule's description and tags. Due
    story updates (``updates.py``) and
    digest retries go out too."""
    run = _Run(store, channels, settings, now, owner or claim_owner("deliver"),
               stop or threading.Event(), {rule.name: rule for rule in rules})  # fmt: skip
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
    rules: Mapping[str, RuleInfo] = field(default_factory=dict)
    report: DeliveryReport = field(default_factory=DeliveryReport)
    paused: dict[str, datetime] = field(default_factory=dict)
    """Channel -> until when it asked us to wait (429 with Retry-After)."""

    def send_batch(self, batch: Sequence[PendingAlert]) -> None:
        """Send one claimed batch, one message per (story, channel), renewing the lease on
        what is left of it meanwhile."""
        waiting = {pending.id for pending in batch}

        def renew() -> set[int]:
            return self.store.renew_alerts(sorted(waiting), self.owner, self.lease_end())

        with renewing(renew, self.settings.lease.total_seconds() / 3, "alert lease renewal"):
            for group in by_story(batch):
                if self.stop.is_set():
                    break
                channel = group[0].channel
                ids = [pending.id for pending in group]
                if channel in self.paused:
                    self.store.release_alerts(ids, self.owner, retry_at=self.paused[channel])
                else:
                    # Renewed per send with the rest of the batch (and in the background
                    # while it is sent): however slow the sends before it were, each
                    # alert of the group is still ours, or someone else's and not sent
                    # (nor named) here.
                    held = renew()
                    mine = [pending for pending in group if pending.id in held]
                    for pending in group:
                        if pending.id not in held:
                            self.report.lost += 1
                            log.warning("alert %s: lease lost before sending; left to its "
                                        "new holder", pending.message.key)  # fmt: skip
                    if mine:
                        self.send(mine)
                waiting.difference_update(ids)
        if waiting:  # stopped: hand the rest back now rather than when the lease expires
            self.store.release_alerts(sorted(waiting), self.owner)

    def send(self, group: Sequence[PendingAlert]) -> None:
        """One message for the alerts of one story to one channel; the outcome is
        recorded on each of them, as long as this deliverer still holds it."""
        name = group[0].channel
        message = combine([describe(pending.message, self.rules) for pending in group], name)
        channel = self.channels.get(name)
        try:
            if channel is None:
                raise ChannelError(f"no channel named {name!r}", permanent=False)
            ref = channel.send(message)
        except Exception as exc:
            self.failed(group, message.key, as_channel_error(exc))
            return
        sent_at = self.now()
        for pending in group:
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

    def failed(self, group: Sequence[PendingAlert], key: str, error: ChannelError) -> None:
        name = group[0].channel
        attempts = max(pending.attempts for pending in group) + 1
        retry_at = next_attempt(error, attempts, self.settings, self.now())
        for pending in group:
            if not self.store.mark_failed(
                pending.id, secrets.mask(str(error)), retry_at=retry_at, owner=self.owner
            ):
                self.lost(pending.message.key)
        if error.retry_after is not None and retry_at is not None:
            self.paused[name] = retry_at  # the channel asked us to wait: all of it
            self.store.postpone_channel(name, retry_at)
        count_failure(self.report, key, name, error, retry_at)

    def lease_end(self) -> datetime:
        return self.now() + self.settings.lease

    def lost(self, key: str) -> None:
        self.report.lost += 1
        log.error("%s: its lease was lost while sending; another deliverer may send it again",
                  key)  # fmt: skip
