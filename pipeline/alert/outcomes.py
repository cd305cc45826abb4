"""What delivering produces and decides: the channel protocol, the report, claim
tokens, retry times, and how a failure is counted. Shared by alerts and digests."""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from .. import metrics
from ..config import DeliverySettings
from ..errors import ChannelError
from ..types import AlertMessage, DigestMessage
from .identity import worker_id

log = logging.getLogger(__name__)


class Channel(Protocol):
    name: str

    def send(self, message: AlertMessage) -> object:
        """Deliver one alert or raise ``ChannelError``; may return the receiver's id of
        the message (Slack ``ts``), kept so that updates can reply in its thread."""

    def send_digest(self, digest: DigestMessage) -> None:
        """Deliver one digest or raise ``ChannelError``."""


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)
    lost: int = 0
    """Alerts or digests whose lease this deliverer lost to another one (not sent here)."""


def claim_owner(job: str) -> str:
    """A claim token: the worker (host and process, readable in ``wirewatch alerts``)
    plus a random part, so two deliverers of one process never share one."""
    return f"{worker_id()}/{job}-{secrets.token_hex(3)}"


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


def as_channel_error(exc: Exception) -> ChannelError:
    if isinstance(exc, ChannelError):
        return exc
    log.exception("channel raised an unexpected error")
    return ChannelError(f"unexpected error: {type(exc).__name__}: {exc}", permanent=False)


def count_failure(
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
