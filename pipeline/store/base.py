"""What every part of the store shares: the engine, one short transaction per call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .. import models as m
from ..database import reason
from ..errors import DatabaseError

DEFAULT_STORY_WINDOW = timedelta(days=7)


class StoreBase:
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


def insert(session: Session, model: type[m.Base]):  # type: ignore[no-untyped-def]
    """INSERT with ``on_conflict_do_nothing``, in the dialect of the session's database."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def aware(when: datetime) -> datetime:
    """Aggregates bypass the column type on SQLite and come back naive: they are UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when
