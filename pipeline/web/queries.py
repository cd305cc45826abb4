"""Reads the pages need beyond the ``Store`` methods the CLI uses (recent matches,
stories, feed states, alerts): one story with its articles, one article, feed activity.
Plain frozen dataclasses out; ORM rows stay here."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import models as m
from ..store import MatchView, Store


@dataclass(frozen=True)
class StoryRow:
    """One line of the matches page: a story and every rule that matched it."""

    story_id: int
    title: str
    url: str
    source: str
    published: datetime | None
    matched_at: datetime
    rules: tuple[tuple[str, float], ...]
    highlights: tuple[str, ...]
    entities: tuple[str, ...]
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArticleDetail:
    id: int
    story_id: int
    title: str
    url: str
    source: str
    author: str | None
    published: datetime | None
    fetched_at: datetime
    text: str
    extraction: str
    extraction_note: str | None
    entities: tuple[str, ...]
    matches: tuple[tuple[str, float, tuple[str, ...], tuple[str, ...]], ...]
    """(rule, score, terms, highlights)."""


@dataclass(frozen=True)
class AlertLine:
    rule: str
    channel: str
    status: str
    attempts: int
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class StoryDetail:
    id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime
    articles: tuple[ArticleDetail, ...]
    alerts: tuple[AlertLine, ...]


def group_by_story(views: Iterable[MatchView]) -> list[StoryRow]:
    """Matches (newest first) -> one row per story, in the order its newest match came."""
    rows: dict[int, StoryRow] = {}
    for view in views:
        known = rows.get(view.story_id)
        if known is None:
            rows[view.story_id] = StoryRow(
                view.story_id, view.title, view.url, view.source, view.published,
                view.created_at, ((view.rule, view.score),), view.highlights, view.entities,
            )  # fmt: skip
        elif view.rule not in dict(known.rules):
            rows[view.story_id] = _with_rule(known, view)
    return list(rows.values())


def _with_rule(row: StoryRow, view: MatchView) -> StoryRow:
    highlights = row.highlights + tuple(h for h in view.highlights if h not in row.highlights)
    return StoryRow(
        row.story_id, row.title, row.url, row.source, row.published, row.matched_at,
        (*row.rules, (view.rule, view.score)), highlights[:3], row.entities,
    )  # fmt: skip


def outlets(store: Store, story_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """Distinct sources of each story's articles, in the order they carried it."""
    if not story_ids:
        return {}
    query = (
        select(m.Article.story_id, m.Article.source)
        .where(m.Article.story_id.in_(story_ids))
        .order_by(m.Article.id)
    )
    found: dict[int, list[str]] = defaultdict(list)
    with store.session() as session:
        for story_id, source in session.execute(query):
            if source and source not in found[story_id]:
                found[story_id].append(source)
    return {key: tuple(value) for key, value in found.items()}


def article(store: Store, article_id: int) -> ArticleDetail | None:
    with store.session() as session:
        row = session.get(m.Article, article_id)
        if row is None:
            return None
        return _detail(session, row)


def story(store: Store, story_id: int) -> StoryDetail | None:
    with store.session() as session:
        row = session.get(m.Story, story_id)
        if row is None:
            return None
        members = session.scalars(
            select(m.Article).where(m.Article.story_id == story_id).order_by(m.Article.id)
        )
        alerts = session.scalars(
            select(m.AlertRow).where(m.AlertRow.story_id == story_id).order_by(m.AlertRow.id)
        )
        return StoryDetail(
            row.id, row.title, row.first_seen_at, row.last_seen_at,
            tuple(_detail(session, a) for a in members),
            tuple(AlertLine(a.rule, a.channel, a.status, a.attempts, a.sent_at, a.last_error)
                  for a in alerts),
        )  # fmt: skip


def _detail(session: object, row: m.Article) -> ArticleDetail:
    matches = session.scalars(  # type: ignore[attr-defined]
        select(m.MatchRow).where(m.MatchRow.article_id == row.id).order_by(m.MatchRow.id)
    )
    return ArticleDetail(
        row.id, row.story_id, row.title, row.url, row.source, row.author, row.published_at,
        row.fetched_at, row.text or "", row.extraction, row.extraction_note,
        tuple(row.entities or ()),
        tuple((x.rule, x.score, tuple(x.terms or ()), tuple(x.highlights or ())) for x in matches),
    )  # fmt: skip


def items_per_day(store: Store, since: datetime, now: datetime) -> dict[int, float]:
    """Feed id -> new entries per day since ``since``. Counted here rather than with
    GROUP BY, which SQLite answers by scanning every entry in feed order."""
    days = max((now - since).total_seconds() / 86400, 1 / 24)
    query = select(m.Entry.feed_id).where(m.Entry.first_seen_at >= since)
    with store.session() as session:
        counts = Counter(session.scalars(query))
    return {feed_id: round(count / days, 1) for feed_id, count in counts.items()}


def added_sentences(articles: Sequence[ArticleDetail]) -> list[tuple[str, ...]]:
    """For each article of a story, the sentences no earlier article had: what it added."""
    seen: set[str] = set()
    added = []
    for item in articles:
        new = []
        for sentence in _sentences(item.text):
            key = " ".join(sentence.lower().split())
            if key and key not in seen:
                seen.add(key)
                new.append(sentence)
        added.append(tuple(new))
    return added


def _sentences(text: str) -> list[str]:
    from ..match.text import FieldText

    field = FieldText.index(text)
    return [field.text[start:end].strip() for start, end in field.sentences()]
