"""Delivery of ``update`` alerts: claim the due ones (their original alert sent) under a
lease, send each through its channel's ``send_update``, and record the outcome with the
same retry policy as alerts, only while this deliverer still holds the update (the
``store.leases`` primitive). A channel without ``send_update`` cannot send updates: they
die at once. Called by ``deliver`` (``delivery.py``) after the instant alerts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .. import metrics, secrets, updates_store
from ..config import DeliverySettings
from ..errors import ChannelError
from ..store import Store
from .outcomes import DeliveryReport, as_channel_error, count_failure, next_attempt

log = logging.getLogger(__name__)


def deliver_updates(
    store: Store,
    channels: Mapping[str, Any],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    owner: str,
    report: DeliveryReport,
    *,
    stop: threading.Event | None = None,
) -> None:
    pending_updates = updates_store.claim_updates(store, owner, now(), settings.lease)
    for index, pending in enumerate(pending_updates):
        if stop is not None and stop.is_set():  # hand the rest back now
            updates_store.release_updates(
                store, [left.id for left in pending_updates[index:]], owner
            )
            return
        channel = channels.get(pending.channel)
        send = getattr(channel, "send_update", None)
        try:
            if send is None:
                raise ChannelError(
                    f"channel {pending.channel!r} cannot send updates"
                    if channel is not None
                    else f"no channel named {pending.channel!r}",
                    permanent=channel is not None,
                )
            send(pending.message)
        except Exception as exc:
            error = as_channel_error(exc)
            retry_at = next_attempt(error, pending.attempts + 1, settings, now())
            if not updates_store.mark_update_failed(
                store, pending.id, secrets.mask(str(error)), retry_at=retry_at, owner=owner
            ):
                _lost(report, pending.message.key)
            count_failure(report, pending.message.key, pending.channel, error, retry_at)
            continue
        if not updates_store.mark_update_sent(store, pending.id, now(), owner=owner):
            _lost(report, pending.message.key)
        report.sent += 1
        metrics.DELIVERIES.labels("sent").inc()


def _lost(report: DeliveryReport, key: str) -> None:
    report.lost += 1
    log.error("%s: its lease was lost while sending; another deliverer may send it again", key)
