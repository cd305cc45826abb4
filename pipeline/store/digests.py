"""Digests: outbox jobs like alerts (status, lease, attempts, next attempt), each with
the digest alerts it carries attached when it is first claimed.

One digest per (route, channel, schedule time): the unique key makes every worker that
reaches the same tick agree that it is sent once. ``claim_digest`` creates it already
leased; ``claim_digests`` takes over retries that are due and digests whose sender died
mid-send (its lease expired); ``finish_digest``/``fail_digest`` record the outcome only
if the owner still holds the digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import models as m
from ..types import DigestMessage, DigestStory
from . import leases
from .base import StoreBase, insert
from .outbox import alert_message
from .views import PendingDigest


class DigestStore(StoreBase):
    def claim_digest(
        self,
        route: str,
        channel: str,
        scheduled_for: datetime,
        timezone: str,
        now: datetime,
        *,
        owner: str,
        lease: timedelta,
    ) -> tuple[int, DigestMessage] | None:
        """Create the digest of (route, channel, scheduled_for), leased to ``owner``, and
        attach its pending alerts, in one transaction. ``None`` when that digest exists
        already (another worker took it) or has nothing to say."""
        with self.session() as session:
            digest_id = session.scalar(
                insert(session, m.Digest)
                .values(
                    route=route, channel=channel, scheduled_for=scheduled_for,
                    timezone=timezone, status="sending", attempts=0, created_at=now,
                    lease_owner=owner, lease_until=now + lease,
                )
                .on_conflict_do_nothing(index_elements=["route", "channel", "scheduled_for"])
                .returning(m.Digest.id)
            )  # fmt: skip
            if digest_id is None:
                return None
            attached = session.scalars(
                update(m.AlertRow)
                .where(*_waiting_for_digest(route, channel))
                .values(digest_id=digest_id, status="sending")
                .returning(m.AlertRow.id)
            ).all()
            if not attached:
                session.execute(
                    update(m.Digest)
                    .where(m.Digest.id == digest_id)
                    .values(status="empty", lease_owner=None, lease_until=None)
                )
                return None
            return digest_id, _digest_message(session, session.get_one(m.Digest, digest_id))

    def claim_digests(
        self, owner: str, now: datetime, lease: timedelta, limit: int = 10
    ) -> list[PendingDigest]:
        """Take digests to send: retries that are due, and digests whose sender's lease
        expired mid-send (it died)."""
        digests = m.Digest
        eligible = (
            select(digests.id)
            .where(
                ((digests.status == "retry") & (digests.next_attempt_at <= now))
                | (digests.status == "sending")
            )
            .order_by(digests.id)
        )
        with self.session() as session:
            claimed = leases.claim(
                session, digests, eligible, owner, now, lease, limit, status="sending"
            )
            rows = session.scalars(select(digests).where(digests.id.in_(claimed))).all()
            return [
                PendingDigest(row.id, row.channel, row.attempts, _digest_message(session, row))
                for row in sorted(rows, key=lambda row: row.id)
            ]

    def renew_digests(self, digest_ids: Sequence[int], owner: str, until: datetime) -> set[int]:
        with self.session() as session:
            return leases.renew(session, m.Digest, digest_ids, owner, until)

    def last_digest_tick(self, route: str) -> datetime | None:
        """The schedule time of the route's latest digest (sent, empty or not yet)."""
        with self.session() as session:
            return session.scalar(
                select(m.Digest.scheduled_for)
                .where(m.Digest.route == route)
                .order_by(m.Digest.scheduled_for.desc())
                .limit(1)
            )

    def pending_digest(
        self, route: str, channel: str, now: datetime, timezone: str
    ) -> DigestMessage:
        """What a digest of (route, channel) would contain now; claims nothing."""
        with self.session() as session:
            rows = session.scalars(
                select(m.AlertRow)
                .where(*_waiting_for_digest(route, channel))
                .order_by(m.AlertRow.id)
            ).all()
            stories = _digest_stories(session, rows)
            return DigestMessage(f"preview/{route}/{channel}", route, now, timezone, stories)

    def finish_digest(self, digest_id: int, now: datetime, *, owner: str) -> bool:
        """Record a sent digest and its alerts. False: ``owner`` had lost it."""
        with self.session() as session:
            if not leases.complete(
                session, m.Digest, digest_id, owner,
                status="sent", sent_at=now, attempts=m.Digest.attempts + 1, last_error=None,
            ):  # fmt: skip
                return False
            session.execute(
                update(m.AlertRow)
                .where(m.AlertRow.digest_id == digest_id)
                .values(status="sent", sent_at=now, attempts=m.AlertRow.attempts + 1)
            )
            return True

    def fail_digest(
        self, digest_id: int, error: str, *, retry_at: datetime | None, owner: str
    ) -> bool:
        """A failed attempt: ``retry`` at ``retry_at``, or ``dead`` (with its alerts) when
        None. False: ``owner`` had lost the digest."""
        status = "dead" if retry_at is None else "retry"
        with self.session() as session:
            if not leases.complete(
                session, m.Digest, digest_id, owner,
                status=status, attempts=m.Digest.attempts + 1, last_error=error[:2000],
                next_attempt_at=retry_at,
            ):  # fmt: skip
                return False
            session.execute(
                update(m.AlertRow)
                .where(m.AlertRow.digest_id == digest_id)
                .values(last_error=error[:2000], status="dead" if retry_at is None else "sending")
            )
            return True


def _waiting_for_digest(route: str, channel: str) -> tuple[Any, ...]:
    alerts = m.AlertRow
    return (
        alerts.route == route,
        alerts.channel == channel,
        alerts.mode == "digest",
        alerts.status == "pending",
    )


def _digest_message(session: Session, digest: m.Digest) -> DigestMessage:
    rows = session.scalars(
        select(m.AlertRow).where(m.AlertRow.digest_id == digest.id).order_by(m.AlertRow.id)
    ).all()
    return DigestMessage(
        key=f"digest/{digest.route}/{digest.channel}/{digest.scheduled_for.isoformat()}",
        route=digest.route,
        scheduled_for=digest.scheduled_for,
        timezone=digest.timezone,
        stories=_digest_stories(session, rows),
    )


def _digest_stories(session: Session, rows: Sequence[m.AlertRow]) -> tuple[DigestStory, ...]:
    """Each story once, in the order it first alerted, with all the rules it matched."""
    by_story: dict[int, list[m.AlertRow]] = {}
    for row in rows:
        by_story.setdefault(row.story_id, []).append(row)
    stories = []
    for story_rows in by_story.values():
        messages = [alert_message(session, row) for row in story_rows]
        best = max(messages, key=lambda message: message.score)
        stories.append(
            DigestStory(
                title=best.title,
                url=best.url,
                source=best.source,
                published=best.published,
                rules=tuple(dict.fromkeys(message.rule for message in messages)),
                score=best.score,
                highlights=best.highlights,
                outlets=best.outlets,
            )
        )
    return tuple(stories)
