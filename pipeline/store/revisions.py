"""Items that change after they were stored: an entry updated in place under the same
GUID (``UPDATE 2`` with the news added), and page text that a host serves for every
headline (a paywall, consent or bot-check page), which must not stand for the article.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import models as m
from ..dedupe import StoredArticle, entry_hash, shared_boilerplate, text_hash
from ..types import Article, FeedEntry, Match
from .base import StoreBase, aware
from .outbox import insert_alerts
from .stories import touch_story
from .views import PlannedAlert, Saved

log = logging.getLogger(__name__)


class RevisionStore(StoreBase):
    def changed_entries(
        self, feed_id: int, entries: Sequence[FeedEntry]
    ) -> list[tuple[FeedEntry, int]]:
        """Known entries whose title or summary changed, with their article id. Entries
        stored before content hashes existed get theirs now and count as unchanged."""
        by_guid = {entry.guid: entry for entry in entries}
        changed = []
        with self.session() as session:
            rows = session.scalars(
                select(m.Entry).where(m.Entry.feed_id == feed_id, m.Entry.guid.in_(by_guid))
            )
            for row in rows:
                entry = by_guid[row.guid]
                digest = entry_hash(entry.title, entry.summary)
                if row.content_hash is None:
                    row.content_hash = digest
                elif row.content_hash != digest and row.article_id is not None:
                    changed.append((entry, row.article_id))
        return changed

    def update_article(
        self,
        article_id: int,
        entry: FeedEntry,
        feed_id: int,
        article: Article,
        matches: Sequence[Match],
        alerts: Sequence[PlannedAlert],
        now: datetime,
    ) -> Saved:
        """An item updated in place: the stored article takes the new title and text, the
        rules it newly matches are stored, and alerts go out for those (alerts stay one per
        rule, story and channel)."""
        with self.session() as session:
            row = session.get_one(m.Article, article_id)
            row.title, row.text = article.title, article.text
            row.text_hash = text_hash(article.title, article.text)
            known = set(
                session.scalars(select(m.MatchRow.rule).where(m.MatchRow.article_id == article_id))
            )
            new = [match for match in matches if match.rule not in known]
            session.add_all(
                m.MatchRow(article_id=article_id, rule=match.rule, score=match.score,
                           terms=list(match.terms), highlights=list(match.highlights),
                           created_at=now)
                for match in new
            )  # fmt: skip
            fresh = {match.rule for match in new}
            planned = [plan for plan in alerts if plan.rule in fresh]
            created = insert_alerts(session, planned, row.story_id, article_id, now)
            session.execute(
                update(m.Entry)
                .where(m.Entry.feed_id == feed_id, m.Entry.guid == entry.guid)
                .values(content_hash=entry_hash(entry.title, entry.summary))
            )
            touch_story(session, row.story_id, now)
            log.debug("article %d updated in place: %d new rules matched", article_id, len(new))
            return Saved(article_id, row.story_id, None, new_alerts=created)

    def shares_boilerplate(self, article: Article) -> bool:
        """Whether the article's page text is stored on its host under another headline
        (a paywall, consent or bot-check page): then the feed's own text is used."""
        digest = text_hash(article.title, article.text)
        with self.session() as session:
            same_text = stored_articles(session, m.Article.text_hash == digest)
        return shared_boilerplate(article.url, article.title, same_text)


def stored_articles(session: Session, where: Any, limit: int = 50) -> list[StoredArticle]:
    """The stored articles that ``where`` selects, as the dedupe decisions see them."""
    article = m.Article
    rows = session.execute(
        select(article.id, article.story_id, article.url, article.canonical_url,
               article.text_hash, article.title, article.fetched_at)
        .where(where)
        .order_by(article.id)
        .limit(limit)
    ).all()  # fmt: skip
    return [StoredArticle(*row[:6], aware(row[6])) for row in rows]
