"""Alerting: which matches become alerts (pure), and delivery of the outbox.

A channel is anything with ``name`` and ``send(message)``; each kind lives in its own
module (``console.py``, ``file.py``) and is registered in ``CHANNEL_TYPES``. Adding one
is one new file plus one line here.

Alerts are planned when an article is stored and written in the same transaction as its
matches (the outbox). ``deliver`` sends what is due afterwards, so a crash between the two
loses nothing: the pending rows are still there for the next run.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from ..config import AlertsFile, ConsoleChannel, DeliverySettings, FileChannel, RouteConfig
from ..errors import ChannelError
from ..store import PlannedAlert, Store
from ..types import AlertMessage, Match
from .console import ConsoleSink
from .file import JsonlSink

log = logging.getLogger(__name__)


class Channel(Protocol):
    name: str

    def send(self, message: AlertMessage) -> None:
        """Deliver one alert or raise ``ChannelError``."""


CHANNEL_TYPES: dict[type, Callable[..., Channel]] = {
    ConsoleChannel: lambda name, config, base_dir: ConsoleSink(name),
    FileChannel: lambda name, config, base_dir: JsonlSink(name, _resolve(config.path, base_dir)),
}


def build_channels(alerts: AlertsFile, base_dir: Path) -> dict[str, Channel]:
    return {
        name: CHANNEL_TYPES[type(config)](name, config, base_dir)
        for name, config in alerts.channels.items()
    }


def _resolve(path: str, base_dir: Path) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def plan_alerts(matches: Sequence[Match], routes: Sequence[RouteConfig]) -> list[PlannedAlert]:
    """Every (rule, channel) that the routes send these matches to, each once."""
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
    """Exponential backoff with full jitter, capped at ``retry_max``."""
    ceiling = min(settings.retry_max, settings.retry_base * (2 ** max(attempt - 1, 0)))
    fraction = (rng or random).uniform(0.5, 1.0)
    return ceiling * fraction


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0


def deliver(
    store: Store,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    now: Callable[[], datetime],
    *,
    limit: int = 500,
) -> DeliveryReport:
    """Send every due pending alert once; one failing channel never stops the others."""
    report = DeliveryReport()
    for pending in store.due_alerts(now(), limit=limit):
        channel = channels.get(pending.channel)
        try:
            if channel is None:
                raise ChannelError(
                    f"no channel named {pending.channel!r} in alerts.yaml", permanent=False
                )
            channel.send(pending.message)
        except ChannelError as exc:
            attempt = pending.attempts + 1
            if exc.permanent or attempt >= settings.max_attempts:
                store.mark_failed(pending.id, str(exc), retry_at=None)
                report.dead += 1
                log.error("alert %s to %s is dead: %s", pending.message.key, pending.channel, exc)
            else:
                retry_at = now() + retry_delay(attempt, settings)
                store.mark_failed(pending.id, str(exc), retry_at=retry_at)
                report.retrying += 1
                log.warning(
                    "alert %s to %s failed (will retry): %s",
                    pending.message.key,
                    pending.channel,
                    exc,
                )
            continue
        store.mark_sent(pending.id, now())
        report.sent += 1
    return report
