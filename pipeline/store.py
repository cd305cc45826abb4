"""Storage: the only module that reads and writes rows. Takes and returns
``pipeline.types`` data; ORM objects never leave it. Connecting and migrating live in
``pipeline.database`` (re-exported here for convenience).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from . import models as m
from .config import FeedConfig
from .database import (
    alembic_dir,
    data_dir,
    database_url,
    is_sqlite,
    make_engine,
    migrate,
    normalise_database_url,
    open_database,
    reason,
    redact,
    schema_revision,
)
from .dedupe import Fingerprint, canonical_url, fingerprint, same_story, text_hash, url_variants
from .errors import DatabaseError
from .health import Health
from .listing import outlet_links
from .types import (
    AlertMessage,
    Article,
    DigestMessage,
    DigestStory,
    FeedEntry,
    FetchResult,
    Match,
)

log = logging.getLogger(__name__)

__all__ = [
    "Store",
    "alembic_dir",
    "data_dir",
    "database_url",
    "is_sqlite",
    "make_engine",
    "migrate",
    "normalise_database_url",
    "open_database",
    "redact",
    "schema_revision",
]

# --------------------------------------------------------------------------- views


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
    next_check_at: datetime | None = None
    disabled_reason: str | None = None
    fetch_url: str | None = None
    adaptive: bool = False

    @property
    def label(self) -> str:
        return self.name or self.url

    def due(self, now: datetime) -> bool:
        return self.enabled and (self.next_check_at is None or self.next_check_at <= now)

    def backing_off(self, now: datetime) -> bool:
        return self.consecutive_failures > 0 and not self.due(now)


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


# --------------------------------------------------------------------------- store


DEFAULT_STORY_WINDOW = timedelta(days=7)


class Store:
    """Repository over one engine. Each public method is one short transaction.

    ``story_window``: how far back a new article looks for near-duplicates to join.
    """

    def __init__(self, engine: Engine, story_window: timedelta = DEFAULT_STORY_WINDOW) -> None:
        self.engine = engine
        self.story_window = story_window
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise DatabaseError(f"database error: {reason(exc)}") from None

    # feeds -----------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[FeedConfig], now: datetime) -> list[FeedState]:
        """Make sure every configured feed has a row; return them in config order.

        Several workers starting at once all do this: new rows are inserted with
        ``ON CONFLICT DO NOTHING``, so the first one wins and the others carry on."""
        with self.session() as session:
            known = set(session.scalars(select(m.Feed.url)))
            missing = [
                {"url": feed.url, "created_at": now, "consecutive_failures": 0, "enabled": True,
                 "interval_seconds": int(feed.interval.total_seconds()), "adaptive": feed.adaptive}
                for feed in feeds
                if feed.url not in known
            ]  # fmt: skip
            if missing:
                session.execute(
                    _insert(session, m.Feed)
                    .values(missing)
                    .on_conflict_do_nothing(index_elements=["url"])
                )
            rows = {row.url: row for row in session.scalars(select(m.Feed))}
            for feed in feeds:
                row = rows[feed.url]
                row.name = feed.name
                row.interval_seconds = int(feed.interval.total_seconds())
                row.adaptive = feed.adaptive
            session.flush()
            return [_feed_state(rows[feed.url]) for feed in feeds]

    def feed_states(self) -> list[FeedState]:
        with self.session() as session:
            return [_feed_state(row) for row in session.scalars(select(m.Feed).order_by(m.Feed.id))]

    def record_fetch(
        self,
        feed_id: int,
        result: FetchResult,
        health: Health,
        now: datetime,
        *,
        problem: str | None = None,
    ) -> None:
        """Store a fetch outcome on the feed: validators on success, the error otherwise,
        the next check time, and where the feed moved after permanent redirects."""
        with self.session() as session:
            feed = session.get_one(m.Feed, feed_id)
            feed.last_checked_at = now
            feed.last_status = result.status
            feed.last_outcome = result.outcome
            feed.next_check_at = health.next_check_at
            feed.consecutive_failures = health.consecutive_failures
            feed.lease_owner = None
            feed.lease_until = None
            if result.permanent_redirect:
                feed.fetch_url = result.permanent_redirect
            if health.disabled_reason:
                feed.enabled = False
                feed.disabled_reason = health.disabled_reason
            if result.outcome in ("ok", "not_modified"):
                feed.last_success_at = now
                feed.last_error = problem
            else:
                feed.last_error = result.error

    def save_validators(self, feed_id: int, etag: str | None, last_modified: str | None) -> None:
        """Keep a feed's ETag and Last-Modified, once all its new entries are stored: a run
        that stops earlier gets the full feed again instead of a 304."""
        with self.session() as session:
            session.execute(
                update(m.Feed)
                .where(m.Feed.id == feed_id)
                .values(etag=etag, last_modified=last_modified)
            )

    def renew_feed_leases(self, feed_ids: Sequence[int], owner: str, until: datetime) -> None:
        with self.session() as session:
            session.execute(
                update(m.Feed)
                .where(m.Feed.id.in_(feed_ids), m.Feed.lease_owner == owner)
                .values(lease_until=until)
            )

    def release_feeds(self, feed_ids: Sequence[int]) -> None:
        if not feed_ids:
            return
        with self.session() as session:
            session.execute(
                update(m.Feed)
                .where(m.Feed.id.in_(feed_ids))
                .values(lease_owner=None, lease_until=None)
            )

    def claim_feeds(
        self,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        *,
        urls: Sequence[str],
        due_only: bool = True,
    ) -> list[FeedState]:
        """Take the due, enabled feeds among ``urls`` for fetching, under a lease. Feeds
        leased by a live worker are skipped; an expired lease is fair game. On PostgreSQL,
        rows another worker is claiming at this moment are skipped (SKIP LOCKED).

        ``due_only=False`` (a cron run): every healthy feed, and failing ones whose
        backoff is over."""
        feeds = m.Feed
        is_due = (feeds.next_check_at.is_(None)) | (feeds.next_check_at <= now)
        if not due_only:
            is_due = is_due | (feeds.consecutive_failures == 0)
        due = (
            select(feeds.id)
            .where(
                feeds.url.in_(urls),
                feeds.enabled.is_(True),
                is_due,
                (feeds.lease_until.is_(None)) | (feeds.lease_until < now),
            )
            .order_by(feeds.next_check_at.is_not(None), feeds.next_check_at, feeds.id)
            .limit(limit)
        )
        with self.session() as session:
            claimed = _claim(session, feeds, due, lease_owner=owner, lease_until=now + lease)
            rows = session.scalars(select(feeds).where(feeds.id.in_(claimed)).order_by(feeds.id))
            return [_feed_state(row) for row in rows]

    def newest_items(self) -> dict[int, datetime]:
        """Per feed, the publication time of its newest stored item (first-seen time for
        undated items): a feed that answers but whose newest item is old may be frozen."""
        newest = func.max(func.coalesce(m.Article.published_at, m.Article.fetched_at))
        with self.session() as session:
            rows = session.execute(
                select(m.Entry.feed_id, newest)
                .join(m.Article, m.Article.id == m.Entry.article_id)
                .group_by(m.Entry.feed_id)
            ).all()
        return {feed_id: _aware(when) for feed_id, when in rows if when is not None}

    def register_worker(self, worker: str, now: datetime) -> None:
        """Record a worker's heartbeat (the first one registers it)."""
        with self.session() as session:
            row = session.get(m.Worker, worker)
            if row is None or row.stopped_at is not None:
                session.merge(m.Worker(worker_id=worker, started_at=now, heartbeat_at=now))
            else:
                row.heartbeat_at = now

    def unregister_worker(self, worker: str, now: datetime) -> None:
        with self.session() as session:
            row = session.get(m.Worker, worker)
            if row is not None:
                row.stopped_at = now

    def status(self, now: datetime) -> dict[str, object]:
        """Figures for ``wirewatch status`` and the metrics endpoint."""
        day = now - timedelta(hours=24)
        with self.session() as session:

            def count(model: type[m.Base], *where: object) -> int:
                return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

            alerts = dict(
                session.execute(
                    select(m.AlertRow.status, func.count()).group_by(m.AlertRow.status)
                ).all()
            )
            workers = session.scalars(select(m.Worker).order_by(m.Worker.started_at.desc())).all()
            feed = m.Feed
            due = (feed.next_check_at.is_(None)) | (feed.next_check_at <= now)
            return {
                "feeds": count(feed),
                "feeds_due": count(feed, feed.enabled.is_(True), due),
                "feeds_failing": count(feed, feed.enabled.is_(True), feed.consecutive_failures > 0),
                "feeds_disabled": count(feed, feed.enabled.is_(False)),
                "articles_24h": count(m.Article, m.Article.fetched_at >= day),
                "matches_24h": count(m.MatchRow, m.MatchRow.created_at >= day),
                "alerts": {status: alerts.get(status, 0) for status in ALERT_STATUSES},
                "workers": [_worker_record(w) for w in workers[:20]],
            }

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

    def enable_feed(self, key: str, now: datetime) -> FeedState | None:
        """Re-enable a disabled feed (by URL or name) and make it due now."""
        with self.session() as session:
            feed = session.scalar(select(m.Feed).where((m.Feed.url == key) | (m.Feed.name == key)))
            if feed is None:
                return None
            feed.enabled = True
            feed.disabled_reason = None
            feed.consecutive_failures = 0
            feed.next_check_at = now
            session.flush()
            return _feed_state(feed)

    # entries and articles --------------------------------------------------

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
                _touch_story_of(session, article_id, now)
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
        for attempt in (1, 2):
            try:
                with self.session() as session:
                    return self._save(
                        session, article, matches, alerts, now, feed_id, entry, entities
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
        matches: Sequence[Match],
        alerts: Sequence[PlannedAlert],
        now: datetime,
        feed_id: int | None,
        entry: FeedEntry | None,
        entities: Sequence[str] = (),
    ) -> Saved | None:
        digest = text_hash(article.title, article.text)
        key = canonical_url(article.canonical_url or article.url) or f"urn:wirewatch:text:{digest}"
        if (
            entry is not None
            and feed_id is not None
            and session.scalar(
                select(m.Entry.id).where(m.Entry.feed_id == feed_id, m.Entry.guid == entry.guid)
            )
        ):
            return None
        url_keys = [key, *url_variants(key)]
        existing = session.execute(
            select(m.Article.id, m.Article.story_id)
            .where(m.Article.canonical_url.in_(url_keys) | (m.Article.text_hash == digest))
            .order_by(m.Article.id)
            .limit(1)
        ).first()
        if existing is not None:
            article_id, story_id = existing
            if entry is not None and feed_id is not None:
                session.add(_entry_row(feed_id, entry, article_id, now))
            _touch_story_of(session, article_id, now)
            return Saved(article_id, story_id, duplicate_of=article_id)

        print_ = fingerprint(article.title, article.text)
        similar = self._most_similar(session, print_, now)
        if similar is not None:
            similar_to, story_id = similar
            _touch_story(session, story_id, now, joined=True)
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
        created = _insert_alerts(session, alerts, story_id, row.id, now)
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

    # reading ---------------------------------------------------------------

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
                    _outlets(session, story.id),
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

    # outbox ----------------------------------------------------------------

    def claim_alerts(
        self, owner: str, now: datetime, lease: timedelta, limit: int = 200
    ) -> list[PendingAlert]:
        """Take due instant alerts for sending: pending ones whose attempt is due, and ones
        whose sender's lease expired (it crashed). On PostgreSQL, rows another worker is
        claiming at the same moment are skipped (``FOR UPDATE SKIP LOCKED``)."""
        alerts = m.AlertRow
        due = (
            select(alerts.id)
            .where(
                alerts.mode == "instant",
                ((alerts.status == "pending") & (alerts.next_attempt_at <= now))
                | ((alerts.status == "sending") & (alerts.lease_until < now)),
            )
            .order_by(alerts.id)
            .limit(limit)
        )
        with self.session() as session:
            claimed = _claim(
                session, alerts, due, status="sending", lease_owner=owner, lease_until=now + lease
            )
            rows = session.scalars(
                select(alerts).where(alerts.id.in_(claimed)).order_by(alerts.id)
            ).all()
            return [
                PendingAlert(row.id, row.channel, row.attempts, _message(session, row))
                for row in rows
            ]

    def mark_sent(self, alert_id: int, now: datetime) -> None:
        with self.session() as session:
            session.execute(
                update(m.AlertRow)
                .where(m.AlertRow.id == alert_id)
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=m.AlertRow.attempts + 1,
                    last_error=None,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    def mark_failed(self, alert_id: int, error: str, *, retry_at: datetime | None) -> None:
        """A failed attempt: back to ``pending`` until ``retry_at``, or ``dead`` when None."""
        values: dict[str, object] = {
            "attempts": m.AlertRow.attempts + 1,
            "last_error": error[:2000],
            "lease_owner": None,
            "lease_until": None,
            "status": "dead" if retry_at is None else "pending",
        }
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        with self.session() as session:
            session.execute(update(m.AlertRow).where(m.AlertRow.id == alert_id).values(**values))

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

    # digests ---------------------------------------------------------------

    def claim_digest(
        self, route: str, channel: str, scheduled_for: datetime, timezone: str, now: datetime
    ) -> tuple[int, DigestMessage] | None:
        """Create the digest of (route, channel, scheduled_for) and attach its pending
        alerts, in one transaction. ``None`` when that digest exists already (another
        worker took it) or has nothing to say."""
        with self.session() as session:
            digest_id = session.scalar(
                _insert(session, m.Digest)
                .values(
                    route=route, channel=channel, scheduled_for=scheduled_for,
                    timezone=timezone, status="sending", attempts=0, created_at=now,
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
                    update(m.Digest).where(m.Digest.id == digest_id).values(status="empty")
                )
                return None
            return digest_id, _digest_message(session, session.get_one(m.Digest, digest_id))

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

    def due_digest_retries(self, now: datetime) -> list[tuple[int, str, DigestMessage]]:
        with self.session() as session:
            digests = session.scalars(
                select(m.Digest).where(m.Digest.status == "retry", m.Digest.next_attempt_at <= now)
            ).all()
            return [(d.id, d.channel, _digest_message(session, d)) for d in digests]

    def digest_attempts(self, digest_id: int) -> int:
        with self.session() as session:
            return session.get_one(m.Digest, digest_id).attempts

    def finish_digest(self, digest_id: int, now: datetime) -> None:
        with self.session() as session:
            session.execute(
                update(m.Digest)
                .where(m.Digest.id == digest_id)
                .values(status="sent", sent_at=now, attempts=m.Digest.attempts + 1, last_error=None)
            )
            session.execute(
                update(m.AlertRow)
                .where(m.AlertRow.digest_id == digest_id)
                .values(status="sent", sent_at=now, attempts=m.AlertRow.attempts + 1)
            )

    def fail_digest(self, digest_id: int, error: str, *, retry_at: datetime | None) -> None:
        status = "dead" if retry_at is None else "retry"
        with self.session() as session:
            session.execute(
                update(m.Digest)
                .where(m.Digest.id == digest_id)
                .values(status=status, attempts=m.Digest.attempts + 1, last_error=error[:2000],
                        next_attempt_at=retry_at)
            )  # fmt: skip
            session.execute(
                update(m.AlertRow)
                .where(m.AlertRow.digest_id == digest_id)
                .values(last_error=error[:2000], status="dead" if retry_at is None else "sending")
            )

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
            return [
                AlertView(
                    row.id,
                    row.rule,
                    row.channel,
                    row.status,
                    row.attempts,
                    row.created_at,
                    row.sent_at,
                    row.last_error,
                    title,
                )
                for row, title in session.execute(query)
            ]


# --------------------------------------------------------------------------- helpers


ALERT_STATUSES = ("pending", "sending", "sent", "dead")


def _aware(when: datetime) -> datetime:
    """Aggregates bypass the column type on SQLite and come back naive: they are UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _worker_record(worker: m.Worker) -> dict[str, object]:
    return {
        "worker": worker.worker_id,
        "started": worker.started_at.isoformat(),
        "heartbeat": worker.heartbeat_at.isoformat(),
        "stopped": worker.stopped_at.isoformat() if worker.stopped_at else None,
    }


def _feed_state(row: m.Feed) -> FeedState:
    return FeedState(
        id=row.id,
        url=row.url,
        name=row.name,
        interval=timedelta(seconds=row.interval_seconds or 900),
        enabled=row.enabled,
        etag=row.etag,
        last_modified=row.last_modified,
        last_checked_at=row.last_checked_at,
        last_success_at=row.last_success_at,
        last_outcome=row.last_outcome,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures or 0,
        next_check_at=row.next_check_at,
        disabled_reason=row.disabled_reason,
        fetch_url=row.fetch_url,
        adaptive=bool(row.adaptive),
    )


def _entry_row(feed_id: int, entry: FeedEntry, article_id: int, now: datetime) -> m.Entry:
    return m.Entry(
        feed_id=feed_id,
        guid=entry.guid[:2048],
        link=(entry.link or "")[:2048] or None,
        article_id=article_id,
        first_seen_at=now,
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
    )


def _touch_story_of(session: Session, article_id: int, now: datetime) -> None:
    story_id = session.scalar(select(m.Article.story_id).where(m.Article.id == article_id))
    if story_id is not None:
        _touch_story(session, story_id, now)


def _touch_story(session: Session, story_id: int, now: datetime, *, joined: bool = False) -> None:
    values: dict[str, object] = {"last_seen_at": now}
    if joined:
        values["article_count"] = m.Story.article_count + 1
    session.execute(update(m.Story).where(m.Story.id == story_id).values(**values))


def _outlets(session: Session, story_id: int) -> tuple[str, ...]:
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


def _claim(session: Session, model: Any, due: Select[Any], **values: object) -> Sequence[int]:
    """``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING id``: rows that
    another transaction is claiming right now are skipped, not waited for (PostgreSQL;
    SQLite has one writer at a time and ignores the locking clause)."""
    locked = due.with_for_update(skip_locked=True).scalar_subquery()
    return session.scalars(
        update(model).where(model.id.in_(locked)).values(**values).returning(model.id)
    ).all()


def _insert(session: Session, model: type[m.Base]):  # type: ignore[no-untyped-def]
    """INSERT with ``on_conflict_do_nothing``, in the dialect of the session's database."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


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
        messages = [_message(session, row) for row in story_rows]
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


def _insert_alerts(
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
        _insert(session, m.AlertRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=["rule", "story_id", "channel"])
        .returning(m.AlertRow.id)
    )
    return len(session.execute(statement).all())


def _message(session: Session, alert: m.AlertRow) -> AlertMessage:
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
