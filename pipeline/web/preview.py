"""The rule workbench's preview: what a draft rule matches among stored articles.

Candidates come from the full-text index (``fulltext.py``), newest first; the exact rule
runs on them together with the saved version of the rule, so the difference (+ new,
− lost) costs one pass. The exact rule costs about a millisecond an article, so a very
broad draft is checked newest first for at most ``TIME_BUDGET`` and the preview says how
far back it got: it stays interactive and never pretends to be complete. Reading is
here; deciding is in ``pipeline.match`` and in the pure helpers at the bottom.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.orm import Session

from .. import models as m
from ..config import EntityConfig, RuleConfig
from ..match import RuleSet
from ..models import UTCDateTime
from ..types import Article
from .fulltext import fts5_query, necessary_groups, tsquery

MAX_CANDIDATES = 20_000
"""Candidate ids read from the index at most (ids only: cheap)."""
TIME_BUDGET = 0.6
"""Seconds the exact rule may run per preview; candidates left over are reported."""
CHUNK = 50
POSTGRES_DOCUMENT = (
    "to_tsvector('simple', regexp_replace(coalesce(title, '') || ' ' || coalesce(text, ''), "
    "'[^[:alnum:]]+', ' ', 'g'))"
)
"""Exactly the expression of the GIN index made by migration 0011, so that it is used."""
DRAFT = "draft"
SAVED = "saved"


@dataclass(frozen=True)
class PreviewMatch:
    article_id: int
    story_id: int
    title: str
    url: str
    source: str
    stored_at: datetime
    published: datetime | None
    score: float
    highlights: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    matches: tuple[PreviewMatch, ...]
    """What the draft matches, newest first."""
    added: tuple[PreviewMatch, ...]
    """Matched by the draft, not by the saved rule."""
    lost: tuple[PreviewMatch, ...]
    """Matched by the saved rule, not by the draft."""
    stories_per_day: tuple[tuple[date, int], ...]
    candidates: int
    """Articles of the period that the full-text index could not rule out."""
    checked: int
    """Candidates the exact rule ran on (the newest; all unless the time ran out)."""
    checked_back_to: datetime | None
    """Set when not every candidate was checked: the oldest article that was."""
    elapsed_ms: float

    @property
    def truncated(self) -> bool:
        return self.checked < self.candidates


@dataclass(frozen=True)
class StoredArticle:
    id: int
    story_id: int
    article: Article
    stored_at: datetime


def compile_pair(draft: str, saved: str | None, entities: Sequence[EntityConfig]) -> RuleSet:
    """The draft and (if any) the saved query as one rule set; errors name the draft."""
    rules = [RuleConfig(name=DRAFT, query=draft)]
    if saved:
        rules.append(RuleConfig(name=SAVED, query=saved))
    compiled = RuleSet.from_config(rules, "draft", entities).rules
    return RuleSet(compiled)  # no entity detection: the preview only needs the rules


def preview(
    engine: Engine,
    ruleset: RuleSet,
    since: datetime,
    clock: Callable[[], float] = time.perf_counter,
    budget: float = TIME_BUDGET,
) -> Preview:
    """Run ``ruleset`` (from ``compile_pair``) over the candidates stored since ``since``,
    newest first, in chunks, until they are all checked or ``budget`` seconds are spent."""
    started = clock()
    draft: list[PreviewMatch] = []
    saved: list[PreviewMatch] = []
    checked = 0
    oldest: datetime | None = None
    with Session(engine) as session:
        ids: set[int] = set()
        for rule in ruleset.rules:
            ids.update(candidate_ids(session, rule.node, since, MAX_CANDIDATES))
        ordered = sorted(ids, reverse=True)
        for first in range(0, len(ordered), CHUNK):
            if checked and clock() - started > budget:
                break
            stored = load_articles(session, ordered[first : first + CHUNK])
            found_draft, found_saved = run_rules(ruleset, stored)
            draft += found_draft
            saved += found_saved
            checked += len(stored)
            oldest = stored[-1].stored_at if stored else None
    draft_ids, saved_ids = {p.article_id for p in draft}, {p.article_id for p in saved}
    return Preview(
        matches=tuple(draft),
        added=tuple(p for p in draft if p.article_id not in saved_ids),
        lost=tuple(p for p in saved if p.article_id not in draft_ids),
        stories_per_day=stories_per_day(draft),
        candidates=len(ids),
        checked=checked,
        checked_back_to=oldest if checked < len(ids) else None,
        elapsed_ms=round((clock() - started) * 1000, 1),
    )


def candidate_ids(session: Session, node: object, since: datetime, limit: int) -> list[int]:
    """Ids of the articles stored since ``since`` that the index says could match, newest
    first; every article of the period when the rule gives the index nothing to look for.

    On SQLite the index is searched from the lowest id of the period on, which spares
    FTS5 the older part of its lists (``+id``: the smallest id found through the
    ``fetched_at`` index, not by walking the table in id order)."""
    groups = necessary_groups(node)  # type: ignore[arg-type]
    dialect = session.get_bind().dialect.name
    cutoff = bindparam("since", since, type_=UTCDateTime())
    if not groups:
        query = (
            select(m.Article.id)
            .where(m.Article.fetched_at >= since)
            .order_by(m.Article.id.desc())
            .limit(limit)
        )
        return list(session.scalars(query))
    if dialect == "sqlite":
        statement = text(
            "SELECT a.id FROM articles a WHERE a.id IN (SELECT rowid FROM articles_fts "
            "WHERE articles_fts MATCH :q AND rowid >= (SELECT min(+id) FROM articles "
            "WHERE fetched_at >= :since)) "
            "AND a.fetched_at >= :since ORDER BY a.id DESC LIMIT :limit"
        )
        expression = fts5_query(groups)
    else:
        statement = text(
            f"SELECT id FROM articles WHERE {POSTGRES_DOCUMENT} @@ to_tsquery('simple', :q) "
            "AND fetched_at >= :since ORDER BY id DESC LIMIT :limit"
        )
        expression = tsquery(groups)
    bound = statement.bindparams(cutoff)
    return list(session.scalars(bound, {"q": expression, "limit": limit}))


def load_articles(session: Session, ids: Sequence[int]) -> list[StoredArticle]:
    """The articles with these ids, in the order given."""
    if not ids:
        return []
    rows = {row.id: row for row in session.scalars(select(m.Article).where(m.Article.id.in_(ids)))}
    return [_stored(rows[i]) for i in ids if i in rows]


def _stored(row: m.Article) -> StoredArticle:
    article = Article(
        url=row.url, title=row.title, text=row.text or "", source=row.source,
        published=row.published_at, extraction=row.extraction,
    )  # fmt: skip
    return StoredArticle(row.id, row.story_id, article, row.fetched_at)


# --------------------------------------------------------------------------- pure


def run_rules(
    ruleset: RuleSet, stored: Iterable[StoredArticle]
) -> tuple[list[PreviewMatch], list[PreviewMatch]]:
    """(matches of the draft, matches of the saved rule), in the order of ``stored``."""
    found: dict[str, list[PreviewMatch]] = {DRAFT: [], SAVED: []}
    for item in stored:
        for match in ruleset.analyse(item.article).matches:
            found[match.rule].append(
                PreviewMatch(
                    item.id,
                    item.story_id,
                    item.article.title,
                    item.article.url,
                    item.article.source,
                    item.stored_at,
                    item.article.published,
                    match.score,
                    match.highlights,
                )
            )
    return found[DRAFT], found[SAVED]


def stories_per_day(matches: Iterable[PreviewMatch]) -> tuple[tuple[date, int], ...]:
    """Distinct stories per day (UTC, by when the article was stored), oldest first."""
    seen: set[tuple[date, int]] = set()
    for match in matches:
        seen.add((match.stored_at.date(), match.story_id))
    counts = Counter(day for day, _ in seen)
    return tuple(sorted(counts.items()))


def period_start(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
