"""Storage of story updates: the original alerts a story's new article may update, what
is already known for each, and the outbox of ``update`` alerts (claimed with a lease like
the alerts themselves). Takes and returns plain data; ORM rows never leave this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, type_coerce, update
from sqlalchemy.orm import Session

from . import models as m
from .novelty import NewSentence, article_text
from .store import Store, leases
from .types import UpdateMessage


@dataclass(frozen=True)
class Original:
    """A story's first alert on one channel for one rule."""

    alert_id: int
    rule: str
    channel: str
    route: str
    article_id: int


@dataclass(frozen=True)
class PendingUpdate:
    id: int
    channel: str
    attempts: int
    message: UpdateMessage


def originals(store: Store, story_id: int, new_article_id: int) -> list[Original]:
    """The story's instant alerts that are not dead and not about the new article itself."""
    alerts = m.AlertRow
    with store.session() as session:
        rows = session.execute(
            select(alerts.id, alerts.rule, alerts.channel, alerts.route, alerts.article_id)
            .where(
                alerts.story_id == story_id,
                alerts.mode == "instant",
                alerts.status != "dead",
                alerts.article_id != new_article_id,
            )
            .order_by(alerts.id)
        ).all()
    return [Original(*row) for row in rows]


def known_articles(store: Store, original: Original) -> tuple[int, ...]:
    """The articles whose facts the receivers already have: the alerted one and those
    that went into updates."""
    with store.session() as session:
        updated = session.scalars(
            select(m.UpdateArticle.article_id)
            .where(m.UpdateArticle.alert_id == original.alert_id)
            .order_by(m.UpdateArticle.id)
        ).all()
    return (original.article_id, *updated)


def article_texts(store: Store, article_ids: Sequence[int]) -> list[str]:
    """Headline and text of each article, in the order given (pruned text counts as empty)."""
    with store.session() as session:
        rows = session.execute(
            select(m.Article.id, m.Article.title, m.Article.text).where(
                m.Article.id.in_(article_ids)
            )
        ).all()
    texts = {article_id: article_text(title, text) for article_id, title, text in rows}
    return [texts.get(article_id, "") for article_id in article_ids]


def add_update(
    store: Store,
    original: Original,
    article_id: int,
    sentences: Sequence[NewSentence],
    now: datetime,
    window: timedelta,
) -> int | None:
    """Record that ``article_id`` brings ``sentences`` to ``original``: folded into the
    update still waiting to be sent, else a new update, due at once for the first one and
    one ``window`` after the previous update otherwise. ``None`` when this article was
    already counted for this alert (at most one update per article)."""
    facts = [{"text": s.text, "facts": list(s.facts)} for s in sentences]
    with store.session() as session:
        counted = session.scalar(
            select(m.UpdateArticle.id).where(
                m.UpdateArticle.alert_id == original.alert_id,
                m.UpdateArticle.article_id == article_id,
            )
        )
        if counted is not None:
            return None
        update_id = _waiting_update(session, original.alert_id) or _new_update(
            session, original.alert_id, now, window
        )
        session.add(
            m.UpdateArticle(
                update_id=update_id,
                alert_id=original.alert_id,
                article_id=article_id,
                new_facts=facts,
            )
        )
        return update_id


def _waiting_update(session: Session, alert_id: int) -> int | None:
    return session.scalar(
        select(m.StoryUpdate.id)
        .where(m.StoryUpdate.alert_id == alert_id, m.StoryUpdate.status == "pending")
        .order_by(m.StoryUpdate.id)
        .limit(1)
    )


def _new_update(session: Session, alert_id: int, now: datetime, window: timedelta) -> int:
    latest = func.max(func.coalesce(m.StoryUpdate.sent_at, m.StoryUpdate.next_attempt_at))
    previous = session.scalar(
        select(type_coerce(latest, m.UTCDateTime())).where(m.StoryUpdate.alert_id == alert_id)
    )
    due = now if previous is None else max(now, previous + window)
    row = m.StoryUpdate(
        alert_id=alert_id, status="pending", attempts=0, next_attempt_at=due, created_at=now
    )
    session.add(row)
    session.flush()
    return row.id


def claim_updates(
    store: Store, owner: str, now: datetime, lease: timedelta, limit: int = 100
) -> list[PendingUpdate]:
    """Take due updates whose original alert has been sent (an update never arrives before
    the alert it follows), under a lease (``store.leases``); a lease that expired is taken
    over."""
    updates = m.StoryUpdate
    eligible = (
        select(updates.id)
        .join(m.AlertRow, m.AlertRow.id == updates.alert_id)
        .where(
            m.AlertRow.status == "sent",
            ((updates.status == "pending") & (updates.next_attempt_at <= now))
            | (updates.status == "sending"),
        )
        .order_by(updates.id)
    )
    with store.session() as session:
        claimed = leases.claim(
            session, updates, eligible, owner, now, lease, limit, status="sending"
        )
        rows = session.scalars(
            select(updates).where(updates.id.in_(claimed)).order_by(updates.id)
        ).all()
        return [_pending(session, row) for row in rows]


def _pending(session: Session, row: m.StoryUpdate) -> PendingUpdate:
    alert = session.get_one(m.AlertRow, row.alert_id)
    original = session.get_one(m.Article, alert.article_id)
    story = session.get_one(m.Story, alert.story_id)
    parts = session.execute(
        select(m.UpdateArticle.new_facts, m.Article)
        .join(m.Article, m.Article.id == m.UpdateArticle.article_id)
        .where(m.UpdateArticle.update_id == row.id)
        .order_by(m.UpdateArticle.id)
    ).all()
    sentences = [sentence for facts, _ in parts for sentence in facts]
    latest = parts[-1][1] if parts else original
    message = UpdateMessage(
        key=f"update/{alert.rule}/{alert.story_id}/{alert.channel}/{row.id}",
        original_key=f"{alert.rule}/{alert.story_id}/{alert.channel}",
        rule=alert.rule,
        story_title=original.title or story.title,
        original_url=original.url,
        title=latest.title,
        url=latest.url,
        source=latest.source,
        published=latest.published_at or latest.fetched_at,
        new_facts=tuple(s["text"] for s in sentences),
        marked=tuple(tuple(s["facts"]) for s in sentences),
        sources=tuple(dict.fromkeys(article.source for _, article in parts)),
        thread_ref=alert.thread_ref,
    )
    return PendingUpdate(row.id, alert.channel, row.attempts, message)


def mark_update_sent(store: Store, update_id: int, now: datetime, *, owner: str) -> bool:
    """Record a delivery. False: ``owner`` had lost the update to another sender."""
    with store.session() as session:
        return leases.complete(
            session, m.StoryUpdate, update_id, owner,
            status="sent", sent_at=now, attempts=m.StoryUpdate.attempts + 1, last_error=None,
        )  # fmt: skip


def mark_update_failed(
    store: Store, update_id: int, error: str, *, retry_at: datetime | None, owner: str
) -> bool:
    """A failed attempt: ``pending`` until ``retry_at``, or ``dead`` when None. False:
    ``owner`` had lost the update to another sender."""
    with store.session() as session:
        return leases.fail(session, m.StoryUpdate, update_id, owner, error, retry_at)


def release_updates(store: Store, update_ids: Sequence[int], owner: str) -> set[int]:
    """Hand claimed updates back unsent, without counting an attempt (a stop)."""
    with store.session() as session:
        return leases.release(session, m.StoryUpdate, update_ids, owner, status="pending")


def record_thread_ref(store: Store, alert_id: int, ref: str) -> None:
    """Keep the receiver's id of an alert's message (Slack ``ts``) for threading updates."""
    with store.session() as session:
        session.execute(
            update(m.AlertRow).where(m.AlertRow.id == alert_id).values(thread_ref=ref[:300])
        )


def updates(store: Store, limit: int = 200) -> list[dict[str, object]]:
    """Recent updates with their status, for inspection and tests."""
    with store.session() as session:
        rows = session.scalars(
            select(m.StoryUpdate).order_by(m.StoryUpdate.id.desc()).limit(limit)
        ).all()
        return [
            {
                "id": row.id,
                "alert_id": row.alert_id,
                "status": row.status,
                "next_attempt_at": row.next_attempt_at,
                "sent_at": row.sent_at,
                "articles": session.scalars(
                    select(m.UpdateArticle.article_id).where(m.UpdateArticle.update_id == row.id)
                ).all(),
            }
            for row in rows
        ]
