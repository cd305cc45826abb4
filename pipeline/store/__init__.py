"""Storage: the only package that reads and writes rows. Takes and returns
``pipeline.types`` data and the views in ``views``; ORM objects never leave it.

One module per thing stored: ``feeds`` (the feed list and fetch outcomes), ``articles``
(entries, articles and the story each joins), ``revisions`` (items updated in place,
shared boilerplate pages), ``stories`` (reading stories and matches),
``outbox`` (instant alerts), ``digests`` (digest jobs), ``workers`` (heartbeats and
status). Everything that is claimed goes through the one lease primitive in ``leases``.
``Store`` combines them. Connecting and migrating live in ``pipeline.database``
(re-exported here for convenience).
"""

from __future__ import annotations

from ..database import (
    alembic_dir,
    data_dir,
    database_url,
    is_sqlite,
    make_engine,
    migrate,
    normalise_database_url,
    open_database,
    redact,
    schema_revision,
)
from .articles import ArticleStore
from .base import DEFAULT_STORY_WINDOW
from .digests import DigestStore
from .feeds import FeedStore
from .outbox import OutboxStore
from .revisions import RevisionStore
from .stories import StoryStore
from .views import (
    ALERT_STATUSES,
    AlertView,
    FeedState,
    MatchView,
    PendingAlert,
    PendingDigest,
    PlannedAlert,
    Saved,
    StoryView,
)
from .workers import STALE_HEARTBEAT, WorkerStore


class Store(
    FeedStore, ArticleStore, RevisionStore, StoryStore, OutboxStore, DigestStore, WorkerStore
):
    """Repository over one engine. Each public method is one short transaction.

    ``story_window``: how far back a new article looks for near-duplicates to join.
    """


__all__ = [
    "ALERT_STATUSES",
    "DEFAULT_STORY_WINDOW",
    "STALE_HEARTBEAT",
    "AlertView",
    "FeedState",
    "MatchView",
    "PendingAlert",
    "PendingDigest",
    "PlannedAlert",
    "Saved",
    "Store",
    "StoryView",
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
