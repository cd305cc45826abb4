"""ORM models. They never leave ``pipeline.store``: other stages see ``pipeline.types``.

Alembic migrations (``alembic/versions``) create exactly these tables; ``alembic check``
in the test suite proves the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import false as sql_false
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; wirewatch stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    interval_seconds: Mapped[int] = mapped_column(Integer, default=900)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(200))
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_outcome: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    permanent_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Permanent errors (404, not a feed …) in a row: what disables a feed."""
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    fetch_url: Mapped[str | None] = mapped_column(String(2048))
    """Where the feed moved (every redirect permanent); fetched instead of ``url``."""
    adaptive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_false())
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    article_count: Mapped[int] = mapped_column(Integer, default=1)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str | None] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(300), default="")
    author: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    extraction: Mapped[str] = mapped_column(String(20))
    extraction_note: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    shingle_count: Mapped[int | None] = mapped_column(Integer)
    entities: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=sql_text("'[]'"))
    doctype: Mapped[str | None] = mapped_column(String(40))
    """A primary source's document type (Federal Register: rule, notice…)."""
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When a feed fetch first listed it (``fetched_at`` is when it was stored)."""
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    """When its first instant alert was sent: time-to-alert per source."""


class ArticleBand(Base):
    """LSH band keys of an article's MinHash signature: near-duplicate candidates are the
    articles sharing any key, found with one indexed look-up."""

    __tablename__ = "article_bands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    band_key: Mapped[int] = mapped_column(BigInteger, index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Entry(Base):
    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("feed_id", "guid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(String(2048))
    link: Mapped[str | None] = mapped_column(String(2048))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    """Hash of the feed item's title and summary: an item updated in place is matched again."""


class MatchRow(Base):
    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("article_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    rule: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    highlights: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AlertRow(Base):
    """The outbox: written with the matches, sent later by the deliverer."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule", "story_id", "channel"),
        Index("ix_alerts_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    channel: Mapped[str] = mapped_column(String(200))
    route: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(20), default="instant")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id"), index=True)
    thread_ref: Mapped[str | None] = mapped_column(String(300))
    """The receiver's id of the sent message (Slack ``ts``): updates reply in its thread."""


class StoryUpdate(Base):
    """An ``update`` alert: new facts of a story that already alerted for (rule, channel).
    Articles that arrive while it waits for its window are folded into it."""

    __tablename__ = "story_updates"
    __table_args__ = (
        Index("ix_story_updates_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    """The original alert of (rule, story, channel) that this update follows."""
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UpdateArticle(Base):
    """Which article's facts went into which update: at most one update per article and
    original alert (the unique key)."""

    __tablename__ = "update_articles"
    __table_args__ = (UniqueConstraint("alert_id", "article_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("story_updates.id"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    new_facts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """``[{"text": sentence, "facts": [fact, …]}, …]``"""


class Worker(Base):
    """A running (or stopped) worker, for ``wirewatch status``."""

    __tablename__ = "workers"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Installation(Base):
    """One row, written by the migration that creates it: a random id for this database,
    mixed into email Message-IDs and webhook Idempotency-Keys, so that alerts of a new
    database (whose story ids start again at 1) never repeat an old alert's id."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Digest(Base):
    """One digest per (route, channel, schedule time): the unique key makes every worker
    that reaches the same tick agree that it is sent once. An outbox job like an alert:
    its sender holds a lease, so a digest whose sender died is taken over."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("route", "channel", "scheduled_for"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(200))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    status: Mapped[str] = mapped_column(String(20), default="sending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KbParty(Base):
    """A party of the export-control knowledge base (one name on one screening list)."""

    __tablename__ = "kb_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(300), index=True)
    name: Mapped[str] = mapped_column(Text)
    alt_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    programs: Mapped[list[str]] = mapped_column(JSON, default=list)
    federal_register_notice: Mapped[str | None] = mapped_column(String(300))
    start_date: Mapped[str | None] = mapped_column(String(40))
    license_requirement: Mapped[str | None] = mapped_column(Text)
    license_policy: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(40))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    """Set when a later download no longer had the party; cleared if it returns."""


class KbUpdate(Base):
    """One load of a screening-list file: where from, when, and what changed."""

    __tablename__ = "kb_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(2048))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    parties: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)


# --------------------------------------------------------------------------- web desk


class User(Base):
    """A person who signs in to the web desk (``wirewatch users add``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for scripts; only its SHA-256 is stored (``wirewatch tokens create``)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Label(Base):
    """An analyst's judgement of an article: ``core``, ``related`` or ``quiet``, for one
    rule or (``rule`` empty) for the watchlist as a whole."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("article_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(200), default="")
    label: Mapped[str] = mapped_column(String(20))
    user_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


FULLTEXT_OBJECTS = ("articles_fts", "ix_articles_fulltext")
"""Full-text search objects made by migration 0011 outside these models (an FTS5 table
and its triggers on SQLite, an expression GIN index on PostgreSQL); ``alembic/env.py``
leaves them out of the comparison."""
