"""The outbox: instant alerts, written with the matches and claimed under a lease.

``claim_alerts`` leases a few due alerts to one owner; ``renew_alerts`` keeps them while
they are being sent; ``mark_sent``/``mark_failed``/``release_alerts`` record the outcome
only on alerts the owner still holds and say whether it did (``leases``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import models as m
from ..listing import outlet_links
from ..types import AlertMessage
from . import leases
from .base import StoreBase, insert
from .views import AlertView, PendingAlert, PlannedAlert


class OutboxStore(StoreBase):
    def claim_alerts(
        self,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int = 200,
        *,
        skip_channels: Collection[str] = (),
        due_by: datetime | None = None,
    ) -> list[PendingAlert]:
        """Take due instant alerts for sending: pending ones whose attempt is due (by
        ``due_by``, default ``now``), and ones whose sender's lease expired (it died).
        Alerts to ``skip_channels`` (paused after a 429) are left for later."""
        alerts = m.AlertRow
        eligible = (
            select(alerts.id)
            .where(
                alerts.mode == "instant",
                ((alerts.status == "pending") & (alerts.next_attempt_at <= (due_by or now)))
                | (alerts.status == "sending"),
            )
            .order_by(alerts.id)
        )
        if skip_channels:
            eligible = eligible.where(alerts.channel.not_in(list(skip_channels)))
        with self.session() as session:
            claimed = leases.claim(
                session, alerts, eligible, owner, now, lease, limit, status="sending"
            )
            rows = session.scalars(
                select(alerts).where(alerts.id.in_(claimed)).order_by(alerts.id)
            ).all()
            return [
                PendingAlert(row.id, row.channel, row.attempts, alert_message(session, row))
                for row in rows
            ]

    def renew_alerts(self, alert_ids: Sequence[int], owner: str, until: datetime) -> set[int]:
        """Extend ``owner``'s leases; returns the alerts it still holds."""
        with self.session() as session:
            return leases.renew(session, m.AlertRow, alert_ids, owner, until)

    def mark_sent(self, alert_id: int, now: datetime, *, owner: str) -> bool:
        """Record a delivery. False: ``owner`` had lost the alert to another sender."""
        with self.session() as session:
            return leases.complete(
                session, m.AlertRow, alert_id, owner,
                status="sent", sent_at=now, attempts=m.AlertRow.attempts + 1, last_error=None,
            )  # fmt: skip

    def mark_failed(
        self, alert_id: int, error: str, *, retry_at: datetime | None, owner: str
    ) -> bool:
        """A failed attempt: back to ``pending`` until ``retry_at``, or ``dead`` when None.
        False: ``owner`` had lost the alert to another sender."""
        with self.session() as session:
            return leases.fail(session, m.AlertRow, alert_id, owner, error, retry_at)

    def release_alerts(
        self, alert_ids: Sequence[int], owner: str, *, retry_at: datetime | None = None
    ) -> set[int]:
        """Hand claimed alerts back unsent and without counting an attempt (a stop, or
        their channel is paused): pending again, due at ``retry_at`` or as they were."""
        values: dict[str, object] = {"status": "pending"}
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        with self.session() as session:
            return leases.release(session, m.AlertRow, alert_ids, owner, **values)

    def postpone_channel(self, channel: str, until: datetime) -> int:
        """A channel asked us to wait (429 with Retry-After): its pending instant alerts
        due earlier wait until ``until``, for every deliverer. Returns how many."""
        alerts = m.AlertRow
        with self.session() as session:
            postponed = session.execute(
                update(alerts)
                .where(
                    alerts.channel == channel,
                    alerts.mode == "instant",
                    alerts.status == "pending",
                    alerts.next_attempt_at < until,
                )
                .values(next_attempt_at=until)
                .returning(alerts.id)
            )
            return len(postponed.all())

    def requeue(self, now: datetime, *, dead: bool) -> int:
        """Make alerts due now: dead ones (``dead``) with fresh attempts, else the pending
        ones waiting for a retry. Returns how many."""
        values: dict[str, object] = {"next_attempt_at": now, "status": "pending"}
        if dead:
            values["attempts"] = 0
        with self.session() as session:
            result = session.execute(
                update(m.AlertRow)
                .where(m.AlertRow.status == ("dead" if dead else "pending"))
                .values(**values)
                .returning(m.AlertRow.id)
            )
            return len(result.all())

    def alerts(self, status: str | None = None, limit: int = 200) -> list[AlertView]:
        query = (
            select(m.AlertRow, m.Article.title)
            .join(m.Article, m.Article.id == m.AlertRow.article_id)
            .order_by(m.AlertRow.id.desc())
            .limit(limit)
        )
        if status:
            query = query.where(m.AlertRow.status == status)
        with self.session() as session:
            return [_alert_view(row, title) for row, title in session.execute(query)]


def _alert_view(row: m.AlertRow, title: str) -> AlertView:
    return AlertView(
        id=row.id,
        rule=row.rule,
        channel=row.channel,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
        title=title,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
    )


def insert_alerts(
    session: Session, alerts: Sequence[PlannedAlert], story_id: int, article_id: int, now: datetime
) -> int:
    """Insert-or-ignore on the unique (rule, story, channel) key: the database, not this
    code, guarantees one alert per rule, story and channel."""
    if not alerts:
        return 0
    values = [
        {
            "rule": plan.rule,
            "story_id": story_id,
            "article_id": article_id,
            "channel": plan.channel,
            "route": plan.route,
            "mode": plan.mode,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for plan in alerts
    ]
    statement = (
        insert(session, m.AlertRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=["rule", "story_id", "channel"])
        .returning(m.AlertRow.id)
    )
    return len(session.execute(statement).all())


def alert_message(session: Session, alert: m.AlertRow) -> AlertMessage:
    article = session.get_one(m.Article, alert.article_id)
    match = session.scalar(
        select(m.MatchRow).where(
            m.MatchRow.article_id == alert.article_id, m.MatchRow.rule == alert.rule
        )
    )
    links = outlet_links(session, alert.story_id, besides=article.source)
    return AlertMessage(
        key=f"{alert.rule}/{alert.story_id}/{alert.channel}",
        rule=alert.rule,
        title=article.title,
        url=article.url,
        source=article.source,
        score=match.score if match else 0.0,
        published=article.published_at or article.fetched_at,
        highlights=tuple(match.highlights or ()) if match else (),
        terms=tuple(match.terms or ()) if match else (),
        outlets=tuple(link.outlet for link in links),
        entities=tuple(article.entities or ()),
        outlet_links=links,
        story_id=alert.story_id,
    )
