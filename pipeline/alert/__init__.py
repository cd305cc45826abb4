"""Alerting: which matches become alerts (pure), and delivery of the outbox.

A channel is anything with ``name``, ``send(AlertMessage)`` and
``send_digest(DigestMessage)``; each kind lives in its own module (``console.py``,
``file.py``, ``slack.py``, ``email.py``, ``webhook.py``) and is registered in
``CHANNEL_TYPES``. Adding one is one new file plus one line here.

Alerts are planned when an article is stored and written in the same transaction as its
matches (the outbox). ``deliver`` (``delivery.py``) claims a few due instant alerts at a
time under a lease renewed while they are sent, and records each outcome only while it
still holds the alert; ``digests.py`` sends one digest per (route, channel, schedule
time), leased the same way. A crash loses nothing: pending rows stay pending, and a
lease that is not released expires so that another run takes the alert over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import secrets
from ..config import (
    AlertsFile,
    ConsoleChannel,
    EmailChannel,
    FileChannel,
    RouteConfig,
    SlackChannel,
    WebhookChannel,
)
from ..store import PlannedAlert
from ..types import Match
from .console import ConsoleSink
from .delivery import BATCH, deliver
from .digests import (
    last_fire_time,
    missed_tick,
    preview_digest,
    retry_digests,
    send_digest,
    send_missed_digests,
)
from .email import EmailSink
from .file import JsonlSink
from .identity import worker_id
from .outcomes import Channel, DeliveryReport, claim_owner, next_attempt, retry_delay
from .slack import SlackSink
from .webhook import WebhookSink

log = logging.getLogger(__name__)


SECRET_FIELDS = ("password", "token", "secret", "webhook_url", "url")
"""Channel settings that are, or carry, a secret (a webhook URL's path usually is one)."""


CHANNEL_TYPES: dict[type, Callable[[str, Any, Path, str], Channel]] = {
    ConsoleChannel: lambda name, config, base_dir, installation: ConsoleSink(name),
    FileChannel: lambda name, config, base_dir, installation: JsonlSink(
        name, _resolve(config.path, base_dir)
    ),
    SlackChannel: lambda name, config, base_dir, installation: SlackSink(name, config),
    EmailChannel: lambda name, config, base_dir, installation: EmailSink(
        name, config, installation
    ),
    WebhookChannel: lambda name, config, base_dir, installation: WebhookSink(
        name, config, installation=installation
    ),
}


def build_channels(
    alerts: AlertsFile, base_dir: Path, installation: str = ""
) -> dict[str, Channel]:
    """The configured channels; ``installation`` (the database's installation id) goes
    into email Message-IDs and webhook Idempotency-Keys. Their secrets are registered
    for masking (``pipeline.secrets``)."""
    for config in alerts.channels.values():
        secrets.register(*(getattr(config, field, None) for field in SECRET_FIELDS))
    return {
        name: CHANNEL_TYPES[type(config)](name, config, base_dir, installation)
        for name, config in alerts.channels.items()
    }


def _resolve(path: str, base_dir: Path) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


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


__all__ = [
    "BATCH",
    "CHANNEL_TYPES",
    "Channel",
    "DeliveryReport",
    "build_channels",
    "claim_owner",
    "deliver",
    "last_fire_time",
    "missed_tick",
    "next_attempt",
    "plan_alerts",
    "preview_digest",
    "retry_delay",
    "retry_digests",
    "send_digest",
    "send_missed_digests",
    "worker_id",
]
