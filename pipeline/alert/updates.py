"""Delivery of ``update`` alerts: claim the due ones (their original alert sent), send
each through its channel's ``send_update``, record the outcome with the same retry policy
as alerts. A channel without ``send_update`` cannot send updates: they die at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import metrics, updates_store
from ..config import DeliverySettings
from ..errors import ChannelError
from ..store import Store

if TYPE_CHECKING:
    from . import DeliveryReport


def deliver_updates(
    store: Store,
    channels: Mapping[str, Any],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    owner: str,
    report: DeliveryReport,
) -> None:
    from . import _as_channel_error, _count_failure, next_attempt  # alert/__init__ imports us

    for pending in updates_store.claim_updates(store, owner, now(), settings.lease):
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
            error = _as_channel_error(exc)
            retry_at = next_attempt(error, pending.attempts + 1, settings, now())
            updates_store.mark_update_failed(store, pending.id, str(error), retry_at=retry_at)
            _count_failure(report, pending.message.key, pending.channel, error, retry_at)
            continue
        updates_store.mark_update_sent(store, pending.id, now())
        report.sent += 1
        metrics.DELIVERIES.labels("sent").inc()
