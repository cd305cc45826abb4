"""What the store hands out: plain frozen dataclasses, never ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..types import AlertMessage, DigestMessage

ALERT_STATUSES = ("pending", "sending", "sent", "dead")


@dataclass(frozen=True)
class FeedState:
    id: int
    url: str
    name: str | None
    interval: timedelta
    enabled: bool
    etag: str | None = None
    last_modified: str | None = None
    last_checked_at: datetime | None = None
    last_success_at: datetime | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    permanent_failures: int = 0
    next_check_at: datetime | None = None
    disabled_reason: str | None = None
    fetch_url: str | None = None
    adaptive: bool = False
    lease_owner: str | None = None
    """Who is fetching or storing this feed right now (until ``lease_until``)."""
    lease_until: datetime | None = None

    @property
    def label(self) -> str:
        return self.name or self.url

    def due(self, now: datetime) -> bool:
        return self.enabled and (self.next_check_at is None or self.next_check_at <= now)

    def backing_off(self, now: datetime) -> bool:
        return self.consecutive_failures > 0 and not self.due(now)

    def leased(self, now: datetime) -> bool:
        return self.lease_owner is not None and (
            self.lease_until is None or self.lease_until >= now
        )


@dataclass(frozen=True)
class PlannedAlert:
    rule: str
    channel: str
    route: str
    mode: str = "instant"


@dataclass(frozen=True)
class Saved:
    """What storing one article did."""

    article_id: int
    story_id: int
    duplicate_of: int | None
    """The article this one repeats (same URL or text): it was not stored again."""
    new_alerts: int = 0
    similar_to: int | None = None
    """A stored near-duplicate whose story this new article joined."""


@dataclass(frozen=True)
class StoryView:
    id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime
    article_count: int
    outlets: tuple[str, ...]


@dataclass(frozen=True)
class MatchView:
    rule: str
    score: float
    terms: tuple[str, ...]
    highlights: tuple[str, ...]
    created_at: datetime
    article_id: int
    story_id: int
    title: str
    url: str
    source: str
    published: datetime | None
    entities: tuple[str, ...] = ()


@dataclass(frozen=True)
class PendingAlert:
    id: int
    channel: str
    attempts: int
    message: AlertMessage


@dataclass(frozen=True)
class PendingDigest:
    """A digest claimed for sending: a new one, a retry, or one whose sender died."""

    id: int
    channel: str
    attempts: int
    message: DigestMessage


@dataclass(frozen=True)
class AlertView:
    id: int
    rule: str
    channel: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    title: str
    lease_owner: str | None = None
    """Who is sending it (status ``sending``), until ``lease_until``."""
    lease_until: datetime | None = None
