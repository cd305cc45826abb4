"""Reading stories and matches back: the ``stories``, ``matches`` and ``status`` views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import models as m
from .base import StoreBase
from .views import MatchView, StoryView


class StoryStore(StoreBase):
    def recent_matches(
        self, since: datetime | None = None, rule: str | None = None, limit: int = 200
    ) -> list[MatchView]:
        query = (
            select(m.MatchRow, m.Article)
            .join(m.Article, m.Article.id == m.MatchRow.article_id)
            .order_by(m.MatchRow.created_at.desc(), m.MatchRow.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(m.MatchRow.created_at >= since)
        if rule:
            query = query.where(m.MatchRow.rule == rule)
        with self.session() as session:
            return [
                MatchView(
                    rule=match.rule,
                    score=match.score,
                    terms=tuple(match.terms or ()),
                    highlights=tuple(match.highlights or ()),
                    created_at=match.created_at,
                    article_id=article.id,
                    story_id=article.story_id,
                    title=article.title,
                    url=article.url,
                    source=article.source,
                    published=article.published_at,
                    entities=tuple(article.entities or ()),
                )
                for match, article in session.execute(query)
            ]

    def stories(self, since: datetime | None = None, limit: int = 100) -> list[StoryView]:
        """Stories newest first, with the outlets that carried them."""
        query = select(m.Story).order_by(m.Story.last_seen_at.desc(), m.Story.id.desc())
        if since is not None:
            query = query.where(m.Story.last_seen_at >= since)
        with self.session() as session:
            return [
                StoryView(
                    story.id,
                    story.title,
                    story.first_seen_at,
                    story.last_seen_at,
                    story.article_count,
                    outlets(session, story.id),
                )
                for story in session.scalars(query.limit(limit))
            ]

    def counts(self) -> dict[str, int]:
        with self.session() as session:
            return {
                name: session.scalar(select(func.count()).select_from(model)) or 0
                for name, model in (
                    ("feeds", m.Feed),
                    ("articles", m.Article),
                    ("stories", m.Story),
                    ("matches", m.MatchRow),
                    ("alerts", m.AlertRow),
                )
            }


def touch_story_of(session: Session, article_id: int, now: datetime) -> None:
    story_id = session.scalar(select(m.Article.story_id).where(m.Article.id == article_id))
    if story_id is not None:
        touch_story(session, story_id, now)


def touch_story(session: Session, story_id: int, now: datetime, *, joined: bool = False) -> None:
    values: dict[str, object] = {"last_seen_at": now}
    if joined:
        values["article_count"] = m.Story.article_count + 1
    session.execute(update(m.Story).where(m.Story.id == story_id).values(**values))


def outlets(session: Session, story_id: int) -> tuple[str, ...]:
    """Everyone who carried the story: article sources and the feeds that linked to it."""
    sources = session.scalars(
        select(m.Article.source).where(m.Article.story_id == story_id).distinct()
    ).all()
    feeds = session.scalars(
        select(func.coalesce(m.Feed.name, m.Feed.url))
        .join(m.Entry, m.Entry.feed_id == m.Feed.id)
        .join(m.Article, m.Article.id == m.Entry.article_id)
        .where(m.Article.story_id == story_id)
        .distinct()
    ).all()
    return tuple(sorted({*sources, *feeds} - {""}))
