"""Feeds: the configured list, fetch outcomes, and the leases of the feeds being polled.

A feed's lease is held from the claim until its new entries are stored (``release_feeds``
by the owner at the end of the cycle), not just until the fetch answered: a worker killed
mid-feed leaves a lease that expires, and the next poll anywhere takes the feed over
even though its next regular check is far off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from .. import models as m
from ..config import FeedConfig
from ..health import Health, moved
from ..types import FetchResult
from . import leases
from .base import StoreBase, aware, insert
from .views import FeedState


class FeedStore(StoreBase):
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
                    insert(session, m.Feed)
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
            return [feed_state(rows[feed.url]) for feed in feeds]

    def feed_states(self) -> list[FeedState]:
        with self.session() as session:
            return [feed_state(row) for row in session.scalars(select(m.Feed).order_by(m.Feed.id))]

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
        the next check time, and where the feed moved after permanent redirects. The
        lease stays: the feed's entries are not stored yet."""
        with self.session() as session:
            feed = session.get_one(m.Feed, feed_id)
            feed.last_checked_at = now
            feed.last_status = result.status
            feed.last_outcome = result.outcome
            feed.next_check_at = health.next_check_at
            feed.consecutive_failures = health.consecutive_failures
            feed.permanent_failures = health.permanent_failures
            if moved(result):
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

    def renew_feed_leases(self, feed_ids: Sequence[int], owner: str, until: datetime) -> set[int]:
        """Extend ``owner``'s leases; returns the feeds it still holds."""
        with self.session() as session:
            return leases.renew(session, m.Feed, feed_ids, owner, until)

    def release_feeds(
        self, feed_ids: Sequence[int], owner: str, *, due_now: Sequence[int] = ()
    ) -> set[int]:
        """Drop ``owner``'s leases on ``feed_ids`` (leases it lost are left alone); the
        feeds in ``due_now`` (entries left unstored by a stop) become due at once, so
        the next poll anywhere finishes them. Returns the feeds that were released."""
        with self.session() as session:
            released = leases.release(session, m.Feed, feed_ids, owner)
            unfinished = [feed_id for feed_id in due_now if feed_id in released]
            if unfinished:
                session.execute(
                    update(m.Feed).where(m.Feed.id.in_(unfinished)).values(next_check_at=None)
                )
            return released

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
        leased by a live worker are skipped; a feed whose lease expired (its worker died
        mid-feed) is taken over whenever its next check is. On PostgreSQL, rows another
        worker is claiming at this moment are skipped (SKIP LOCKED).

        ``due_only=False`` (a cron run): every healthy feed, and failing ones whose
        backoff is over."""
        feeds = m.Feed
        is_due = (feeds.next_check_at.is_(None)) | (feeds.next_check_at <= now)
        if not due_only:
            is_due = is_due | (feeds.consecutive_failures == 0)
        abandoned = feeds.lease_owner.is_not(None)  # and expired: ``leases.claim`` checks
        eligible = (
            select(feeds.id)
            .where(feeds.url.in_(urls), feeds.enabled.is_(True), is_due | abandoned)
            .order_by(feeds.next_check_at.is_not(None), feeds.next_check_at, feeds.id)
        )
        with self.session() as session:
            claimed = leases.claim(session, feeds, eligible, owner, now, lease, limit)
            rows = session.scalars(select(feeds).where(feeds.id.in_(claimed)).order_by(feeds.id))
            return [feed_state(row) for row in rows]

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
        return {feed_id: aware(when) for feed_id, when in rows if when is not None}

    def enable_feed(self, key: str, now: datetime) -> FeedState | None:
        """Re-enable a disabled feed (by URL or name) and make it due now."""
        with self.session() as session:
            feed = session.scalar(select(m.Feed).where((m.Feed.url == key) | (m.Feed.name == key)))
            if feed is None:
                return None
            feed.enabled = True
            feed.disabled_reason = None
            feed.consecutive_failures = 0
            feed.permanent_failures = 0
            feed.fetch_url = None  # a move that led here is forgotten: the URL is tried again
            feed.next_check_at = now
            session.flush()
            return feed_state(feed)


def feed_state(row: m.Feed) -> FeedState:
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
        permanent_failures=row.permanent_failures or 0,
        next_check_at=row.next_check_at,
        disabled_reason=row.disabled_reason,
        fetch_url=row.fetch_url,
        adaptive=bool(row.adaptive),
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
    )
