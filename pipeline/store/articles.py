"""Entries, articles and their stories: storing what a feed brought, once.

``save_article`` is one transaction: the article, its story (a new one or the story of a
near-duplicate), its matches and the alerts they plan. The look-up of duplicates and
near-duplicates and the choice of story are serialised between concurrent saves of the
same story (``lock_story_keys``), so two copies arriving at the same moment, in two
workers or two threads of one, make one story and alert once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import models as m
from ..dedupe import (
    Fingerprint,
    canonical_url,
    entry_hash,
    exact_duplicate,
    fingerprint,
    same_story,
    text_hash,
    url_variants,
)
from ..types import Article, FeedEntry, Match
from .base import StoreBase
from .outbox import insert_alerts
from .revisions import stored_articles
from .stories import touch_story, touch_story_of
from .views import PlannedAlert, Saved

log = logging.getLogger(__name__)

STORY_LOCKS = 0x73746F72
"""The PostgreSQL advisory-lock space (``"stor"``) of the story look-up keys."""


class ArticleStore(StoreBase):
    def unseen_entries(self, feed_id: int, entries: Sequence[FeedEntry]) -> list[FeedEntry]:
        guids = [entry.guid for entry in entries]
        with self.session() as session:
            seen = set(
                session.scalars(
                    select(m.Entry.guid).where(m.Entry.feed_id == feed_id, m.Entry.guid.in_(guids))
                )
            )
        return [entry for entry in entries if entry.guid not in seen]

    def article_for_url(self, url: str) -> int | None:
        """The stored article with this URL, its AMP or mobile forms included."""
        keys = [canonical_url(url), *url_variants(url)]
        with self.session() as session:
            return session.scalar(
                select(m.Article.id).where(m.Article.canonical_url.in_(keys)).limit(1)
            )

    def link_entry(self, feed_id: int, entry: FeedEntry, article_id: int, now: datetime) -> bool:
        """Record an entry whose article is already stored. False if the entry was known."""
        try:
            with self.session() as session:
                session.add(_entry_row(feed_id, entry, article_id, now))
                touch_story_of(session, article_id, now)
        except IntegrityError:
            return False
        return True

    def save_article(
        self,
        article: Article,
        matches: Sequence[Match],
        alerts: Sequence[PlannedAlert],
        now: datetime,
        *,
        feed_id: int | None = None,
        entry: FeedEntry | None = None,
        entities: Sequence[str] = (),
    ) -> Saved | None:
        """Store an article, its story, matches and pending alerts in ONE transaction.

        An article whose canonical URL (or its AMP/mobile form) or text hash is already
        stored is not stored again: the entry is linked to the existing article. A near
        duplicate of a recent article is stored and joins that article's story; alerts are
        per (rule, story, channel), so the story alerts again only for rules it had not
        matched. Returns ``None`` when the entry itself was already stored.
        """
        print_ = fingerprint(article.title, article.text)  # outside the transaction: CPU only
        for attempt in (1, 2):
            try:
                with self.session() as session:
                    return self._save(
                        session, article, print_, matches, alerts, now, feed_id, entry, entities
                    )
            except IntegrityError:
                if attempt == 2:
                    raise
                log.debug("concurrent insert of %s; retrying as a duplicate", article.url)
        return None

    def _save(
        self,
        session: Session,
        article: Article,
        print_: Fingerprint,
        matches: Sequence[Match],
        alerts: Sequence[PlannedAlert],
        now: datetime,
        feed_id: int | None,
        entry: FeedEntry | None,
        entities: Sequence[str] = (),
    ) -> Saved | None:
        digest = text_hash(article.title, article.text)
        key = canonical_url(article.canonical_url or article.url) or f"urn:wirewatch:text:{digest}"
        url_keys = [key, *url_variants(key)]
        own_key = canonical_url(article.url) if article.url else key
        own_keys = [own_key, *url_variants(own_key)] if article.url else [key]
        lock_story_keys(session, [*own_keys, *url_keys, digest, *print_.bands])
        if (
            entry is not None
            and feed_id is not None
            and session.scalar(
                select(m.Entry.id).where(m.Entry.feed_id == feed_id, m.Entry.guid == entry.guid)
            )
        ):
            return None
        stored = stored_articles(
            session,
            m.Article.canonical_url.in_([*own_keys, *url_keys]) | (m.Article.text_hash == digest),
        )
        declared = key if article.canonical_url else None
        found = exact_duplicate(
            article.title, own_keys, declared, digest, stored, now=now, window=self.story_window
        )
        if found is not None:
            repeated, why = found
            log.debug("%s: duplicate of article %d (%s)", article.url, repeated.id, why)
            if entry is not None and feed_id is not None:
                session.add(_entry_row(feed_id, entry, repeated.id, now))
            touch_story_of(session, repeated.id, now)
            return Saved(repeated.id, repeated.story_id, duplicate_of=repeated.id)
        if any(row.canonical_url == key for row in stored):
            log.debug(
                "%s: declared canonical URL %s is another article's: not merged", article.url, key
            )
            key = own_key

        similar = self._most_similar(session, print_, now)
        if similar is not None:
            similar_to, story_id = similar
            log.debug(
                "%s: joins story %d (near duplicate of article %d)",
                article.url,
                story_id,
                similar_to,
            )
            touch_story(session, story_id, now, joined=True)
        else:
            similar_to = None
            story = m.Story(
                title=article.title, first_seen_at=now, last_seen_at=now, article_count=1
            )
            session.add(story)
            session.flush()
            story_id = story.id
        row = _article_row(article, key, digest, story_id, now)
        row.entities = list(entities)
        row.signature = print_.signature
        row.shingle_count = print_.shingles
        session.add(row)
        session.flush()
        session.add_all(
            m.ArticleBand(article_id=row.id, band_key=band, seen_at=now) for band in print_.bands
        )
        if entry is not None and feed_id is not None:
            session.add(_entry_row(feed_id, entry, row.id, now))
        for match in matches:
            session.add(
                m.MatchRow(
                    article_id=row.id,
                    rule=match.rule,
                    score=match.score,
                    terms=list(match.terms),
                    highlights=list(match.highlights),
                    created_at=now,
                )
            )
        created = insert_alerts(session, alerts, story_id, row.id, now)
        return Saved(row.id, story_id, None, new_alerts=created, similar_to=similar_to)

    def _most_similar(
        self, session: Session, print_: Fingerprint, now: datetime
    ) -> tuple[int, int] | None:
        """(article id, story id) of the most similar recent article of the same story."""
        rows = session.execute(
            select(m.Article.id, m.Article.story_id, m.Article.signature, m.Article.shingle_count)
            .where(
                m.Article.id.in_(
                    select(m.ArticleBand.article_id).where(
                        m.ArticleBand.band_key.in_(print_.bands),
                        m.ArticleBand.seen_at >= now - self.story_window,
                    )
                )
            )
            .order_by(m.Article.id)
        ).all()
        best: tuple[float, int, int] | None = None
        for article_id, story_id, signature, shingles in rows:
            if signature is None:
                continue
            other = Fingerprint(signature, shingles or 0, ())
            same, jaccard = same_story(print_, other)
            if same and (best is None or jaccard > best[0]):
                best = (jaccard, article_id, story_id)
        return (best[1], best[2]) if best else None

    def prune(self, older_than: datetime) -> int:
        """Drop the text and band keys of articles fetched before ``older_than``; articles,
        stories, matches and alert history stay. Returns how many articles were pruned."""
        with self.session() as session:
            old = select(m.Article.id).where(
                m.Article.fetched_at < older_than, m.Article.text.is_not(None)
            )
            session.execute(delete(m.ArticleBand).where(m.ArticleBand.article_id.in_(old)))
            pruned = session.execute(
                update(m.Article)
                .where(m.Article.id.in_(old))
                .values(text=None, signature=None)
                .returning(m.Article.id)
            ).all()
            return len(pruned)


def lock_story_keys(session: Session, keys: Iterable[str | int]) -> None:
    """Serialise the story look-up with every concurrent save that shares a key (URL,
    text hash or LSH band: any two copies of one story share one), until this
    transaction ends. PostgreSQL: transaction-scoped advisory locks, taken in one sorted
    order so that two saves never deadlock. SQLite: ``BEGIN IMMEDIATE`` takes the
    database's single write lock before the look-up rather than at the first write."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
    elif dialect == "postgresql":
        session.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(:space, key)) FROM "
                "(SELECT DISTINCT unnest(CAST(:keys AS integer[])) AS key ORDER BY 1) AS ordered"
            ),
            {"space": STORY_LOCKS, "keys": sorted({_lock_key(key) for key in keys})},
        )


def _lock_key(key: str | int) -> int:
    """A signed 32-bit key: advisory locks take (int4 space, int4 key)."""
    raw = (
        key
        if isinstance(key, int)
        else int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest())
    )
    folded = (raw ^ (raw >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= 1 << 31 else folded


def _entry_row(feed_id: int, entry: FeedEntry, article_id: int, now: datetime) -> m.Entry:
    return m.Entry(
        feed_id=feed_id,
        guid=entry.guid[:2048],
        link=(entry.link or "")[:2048] or None,
        article_id=article_id,
        first_seen_at=now,
        content_hash=entry_hash(entry.title, entry.summary),
    )


def _article_row(
    article: Article, key: str, digest: str, story_id: int, now: datetime
) -> m.Article:
    return m.Article(
        story_id=story_id,
        url=article.url[:2048],
        canonical_url=key[:2048],
        title=article.title,
        text=article.text,
        text_hash=digest,
        source=article.source[:300],
        author=(article.author or "")[:300] or None,
        language=(article.language or "")[:16] or None,
        published_at=article.published,
        fetched_at=now,
        extraction=article.extraction,
        extraction_note=article.extraction_note,
        doctype=article.doctype,
    )
