"""Sending digests: one per (route, channel, schedule time), leased like an alert.

``send_digest`` creates and claims the digest of a schedule tick; ``retry_digests``
claims the ones due for a retry or whose sender died mid-send; ``send_missed_digests``
sends the tick a busy or stopped scheduler did not (computed from the route's latest
digest, not from the scheduler's misfire grace). The lease is renewed while a digest is
being sent, and its outcome recorded only if this sender still holds it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from .. import secrets
from ..concurrency import renewing
from ..config import DeliverySettings, RouteConfig
from ..errors import ChannelError
from ..store import PendingDigest, Store
from ..types import DigestMessage
from .outcomes import (
    Channel,
    DeliveryReport,
    as_channel_error,
    claim_owner,
    count_failure,
    next_attempt,
)

log = logging.getLogger(__name__)

MAX_DIGEST_CLAIMS = 50
"""Digests one ``retry_digests`` call sends at most (one claim at a time)."""


def previous_fire(route: RouteConfig, now: datetime) -> datetime | None:
    """The most recent time at or before ``now`` that the route's schedule fired (within
    the last eight days), or ``None``."""
    trigger = route.trigger()
    fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
    previous = None
    while fire is not None and fire <= now:
        previous = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return previous


def last_fire_time(route: RouteConfig, now: datetime) -> datetime:
    """The most recent time at or before ``now`` that the route's schedule fired: every
    worker computes the same value, which keys the digest so it is sent once."""
    return previous_fire(route, now) or now


def missed_tick(
    route: RouteConfig, now: datetime, last_tick: datetime | None, since: datetime
) -> datetime | None:
    """The schedule tick whose digest is due and was never created: the latest tick
    after the route's latest digest (``last_tick``), or after ``since`` (the worker's
    start) when the route never had one. Ticks missed in a row collapse into the latest:
    one digest carries everything pending."""
    tick = previous_fire(route, now)
    if tick is None:
        return None
    return tick if tick > (last_tick or since) else None


def send_digest(
    store: Store,
    channels: Mapping[str, Channel],
    route: RouteConfig,
    scheduled_for: datetime,
    settings: DeliverySettings,
    now: Callable[[], datetime],
    *,
    owner: str | None = None,
) -> DeliveryReport:
    """Claim and send the digest of ``route`` for ``scheduled_for`` on each of its channels.
    A digest already claimed (by this or another worker) is skipped."""
    report = DeliveryReport()
    owner = owner or claim_owner("digest")
    for channel_name in route.channels:
        claimed = store.claim_digest(
            route.name, channel_name, scheduled_for, route.timezone, now(),
            owner=owner, lease=settings.lease,
        )  # fmt: skip
        if claimed is None:
            continue
        digest_id, digest = claimed
        pending = PendingDigest(digest_id, channel_name, 0, digest)
        send_claimed_digest(store, channels, pending, settings, now, report, owner)
    return report


def send_missed_digests(
    store: Store,
    channels: Mapping[str, Channel],
    routes: Sequence[RouteConfig],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    since: datetime,
) -> DeliveryReport:
    """Send the digest of every digest route whose latest tick has none yet."""
    report = DeliveryReport()
    for route in routes:
        if route.mode != "digest":
            continue
        tick = missed_tick(route, now(), store.last_digest_tick(route.name), since)
        if tick is None:
            continue
        log.warning("digest %s of %s was not sent on time; sending it now", route.name, tick)
        sent = send_digest(store, channels, route, tick, settings, now)
        report.sent += sent.sent
        report.retrying += sent.retrying
        report.dead += sent.dead
        report.errors += sent.errors
    return report


def retry_digests(
    store: Store,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    report: DeliveryReport,
    *,
    owner: str | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Send the digests due for a retry or whose sender died, one claim at a time:
    concurrent deliverers never send the same one."""
    owner = owner or claim_owner("digest")
    for _ in range(MAX_DIGEST_CLAIMS):
        if stop is not None and stop.is_set():
            return
        claimed = store.claim_digests(owner, now(), settings.lease, limit=1)
        if not claimed:
            return
        for pending in claimed:
            send_claimed_digest(store, channels, pending, settings, now, report, owner)


def send_claimed_digest(
    store: Store,
    channels: Mapping[str, Channel],
    pending: PendingDigest,
    settings: DeliverySettings,
    now: Callable[[], datetime],
    report: DeliveryReport,
    owner: str,
) -> None:
    def renew() -> None:
        store.renew_digests([pending.id], owner, now() + settings.lease)

    with renewing(renew, settings.lease.total_seconds() / 3, "digest lease renewal"):
        try:
            channel = channels.get(pending.channel)
            if channel is None:
                raise ChannelError(f"no channel named {pending.channel!r}", permanent=False)
            channel.send_digest(pending.message)
        except Exception as exc:
            error = as_channel_error(exc)
            retry_at = next_attempt(error, pending.attempts + 1, settings, now())
            if not store.fail_digest(
                pending.id, secrets.mask(str(error)), retry_at=retry_at, owner=owner
            ):
                _lost(report, pending.message)
            count_failure(report, pending.message.key, pending.channel, error, retry_at)
            return
    if not store.finish_digest(pending.id, now(), owner=owner):
        _lost(report, pending.message)
    report.sent += 1


def _lost(report: DeliveryReport, digest: DigestMessage) -> None:
    report.lost += 1
    log.error("%s: its lease was lost while sending; another sender may send it again", digest.key)


def preview_digest(store: Store, route: RouteConfig, now: datetime) -> list[DigestMessage]:
    """The digests ``route`` would send now, per channel, without claiming anything."""
    previews = []
    for channel_name in route.channels:
        digest = store.pending_digest(route.name, channel_name, now, route.timezone)
        if digest.stories:
            previews.append(digest)
    return previews
