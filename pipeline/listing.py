"""Reads for the listings of the command line (``matches``, ``stories``, ``alerts``,
``feeds``) and the outlets of a story with their links. Read-only; plain dataclasses out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from . import models as m
from .types import OutletLink

if TYPE_CHECKING:
    from .store import Store


@dataclass(frozen=True)
class RuleHit:
    rule: str
    score: float
    matched_at: datetime
    terms: tuple[str, ...] = ()
    highlights: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchedStory:
    """One story with every rule its articles matched; the newest matching article."""

    story_id: int
    published: datetime | None
    title: str
    url: str
    source: str
    hits: tuple[RuleHit, ...]
    entities: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoryLine:
    id: int
    title: str
    url: str
    first_seen: datetime
    last_seen: datetime
    articles: int
    outlets: tuple[str, ...]
    rules: tuple[str, ...]


@dataclass(frozen=True)
class AlertLine:
    id: int
    status: str
    mode: str
    channel: str
    rule: str
    story_id: int
    title: str
    url: str
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None
    attempts: int
    last_error: str | None
    lease_owner: str | None = None
    """Who is sending it (status ``sending``), until ``lease_until``."""
    lease_until: datetime | None = None


def matched_stories(
    store: Store, since: datetime, rule: str | None = None, limit: int = 200
) -> list[MatchedStory]:
    """Stories with matches on articles published since ``since`` (undated articles: by
    when they were fetched), newest published first, each once with all of its rules."""
    article = m.Article
    published = or_(
        article.published_at >= since,
        and_(article.published_at.is_(None), article.fetched_at >= since),
    )
    query = select(m.MatchRow, article).join(article, article.id == m.MatchRow.article_id)
    query = query.where(published, *([m.MatchRow.rule == rule] if rule else []))
    with store.session() as session:
        rows = session.execute(query).all()
    rows.sort(key=lambda row: (_published(row[1]), row[0].id), reverse=True)
    by_story: dict[int, list[tuple[m.MatchRow, m.Article]]] = {}
    for match, found in rows:
        by_story.setdefault(found.story_id, []).append((match, found))
    return [_matched_story(story_rows) for story_rows in list(by_story.values())[:limit]]


def _published(article: m.Article) -> datetime:
    return article.published_at or article.fetched_at


def _matched_story(rows: Sequence[tuple[m.MatchRow, m.Article]]) -> MatchedStory:
    newest = rows[0][1]
    hits: dict[str, RuleHit] = {}
    for match, _ in rows:
        if match.rule not in hits:
            hits[match.rule] = RuleHit(
                match.rule,
                match.score,
                match.created_at,
                tuple(match.terms or ()),
                tuple(match.highlights or ()),
            )
    return MatchedStory(
        story_id=newest.story_id,
        published=newest.published_at,
        title=newest.title,
        url=newest.url,
        source=newest.source,
        hits=tuple(sorted(hits.values(), key=lambda hit: -hit.score)),
        entities=tuple(newest.entities or ()),
    )


def known_rule(store: Store, rule: str) -> bool:
    """Whether any stored match carries this rule name (a rule since removed, say)."""
    with store.session() as session:
        found = session.scalar(select(m.MatchRow.id).where(m.MatchRow.rule == rule).limit(1))
    return found is not None


def story_lines(store: Store, since: datetime, limit: int = 100) -> list[StoryLine]:
    """Stories seen since ``since``, newest first. ``articles`` counts the stored articles
    and ``outlets`` their sources: the same rows, so the two figures agree."""
    query = select(m.Story).where(m.Story.last_seen_at >= since)
    query = query.order_by(m.Story.last_seen_at.desc(), m.Story.id.desc()).limit(limit)
    with store.session() as session:
        return [_story_line(session, story) for story in session.scalars(query)]


def _story_line(session: Session, story: m.Story) -> StoryLine:
    articles = session.execute(
        select(m.Article.id, m.Article.url, m.Article.source)
        .where(m.Article.story_id == story.id)
        .order_by(m.Article.id)
    ).all()
    rules = session.scalars(
        select(m.MatchRow.rule)
        .join(m.Article, m.Article.id == m.MatchRow.article_id)
        .where(m.Article.story_id == story.id)
        .distinct()
    ).all()
    return StoryLine(
        id=story.id,
        title=story.title,
        url=articles[0].url if articles else "",
        first_seen=story.first_seen_at,
        last_seen=story.last_seen_at,
        articles=len(articles),
        outlets=tuple(sorted({row.source for row in articles} - {""})),
        rules=tuple(sorted(rules)),
    )


def outlet_links(session: Session, story_id: int, *, besides: str = "") -> tuple[OutletLink, ...]:
    """(outlet, link) for everyone who carried the story, other than ``besides``: each
    article's source with its URL, and each feed that linked to one with the entry's link."""
    sources = session.execute(
        select(m.Article.source, m.Article.url)
        .where(m.Article.story_id == story_id)
        .order_by(m.Article.id)
    ).all()
    feeds = session.execute(
        select(func.coalesce(m.Feed.name, m.Feed.url), func.coalesce(m.Entry.link, m.Article.url))
        .join(m.Entry, m.Entry.feed_id == m.Feed.id)
        .join(m.Article, m.Article.id == m.Entry.article_id)
        .where(m.Article.story_id == story_id)
        .order_by(m.Entry.id)
    ).all()
    links: dict[str, str] = {}
    for outlet, link in [*sources, *feeds]:
        if outlet and outlet != besides:
            links.setdefault(outlet, link or "")
    return tuple(OutletLink(outlet, link) for outlet, link in sorted(links.items()))


def alert_lines(store: Store, status: str | None = None, limit: int = 50) -> list[AlertLine]:
    query = (
        select(m.AlertRow, m.Article.title, m.Article.url)
        .join(m.Article, m.Article.id == m.AlertRow.article_id)
        .order_by(m.AlertRow.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(m.AlertRow.status == status)
    with store.session() as session:
        return [
            AlertLine(
                id=row.id, status=row.status, mode=row.mode, channel=row.channel, rule=row.rule,
                story_id=row.story_id, title=title, url=url, created_at=row.created_at,
                sent_at=row.sent_at, next_attempt_at=row.next_attempt_at,
                attempts=row.attempts, last_error=row.last_error,
                lease_owner=row.lease_owner, lease_until=row.lease_until,
            )
            for row, title, url in session.execute(query)
        ]  # fmt: skip


def waiting_for_digest(store: Store) -> int:
    """Alerts routed to a digest that no digest has taken yet."""
    alerts = m.AlertRow
    with store.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(alerts)
                .where(alerts.mode == "digest", alerts.status == "pending")
            )
            or 0
        )
