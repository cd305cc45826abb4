"""The database a replay dedupes against: fresh, a read-only view of a real one, or
(only when asked) the real one itself.

A replay that wrote into the production database would record its inputs as seen, and
the real pipeline would later take the same article for a duplicate and never alert on
it. So ``--db`` is read-only unless ``--write`` is given:

* SQLite: the file is copied into memory (SQLite's online backup, a consistent snapshot
  that holds no lock once copied) and the replay writes into the copy.
* PostgreSQL: the replay runs in one transaction on one connection, each write inside a
  savepoint, and the transaction is rolled back at the end. Other sessions never see its
  rows (only sequence numbers are used up); a worker storing the very same URL meanwhile
  waits for the replay to finish.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from . import models as m
from .database import make_engine, migrate, normalise_database_url, open_database, redact
from .errors import DatabaseError
from .store import Store

IN_MEMORY = "sqlite://"


@contextmanager
def replay_store(url: str | None, story_window: timedelta, *, write: bool) -> Iterator[Store]:
    """A ``Store`` for a replay; ``url`` takes the same forms as the global ``--db``."""
    if url is None:
        yield Store(open_database(IN_MEMORY, auto_migrate=True), story_window=story_window)
        return
    url = normalise_database_url(url)
    if write:
        yield Store(open_database(url), story_window=story_window)
        return
    if make_url(url).get_backend_name() == "sqlite":
        yield Store(_sqlite_snapshot(url), story_window=story_window)
        return
    engine = open_database(url, auto_migrate=False)
    with engine.connect() as connection:
        outer = connection.begin()
        connection.begin_nested()  # so each Store session commits only its own savepoint
        try:
            yield Store(connection, story_window=story_window)  # type: ignore[arg-type]
        finally:
            outer.rollback()
    engine.dispose()


def _sqlite_snapshot(url: str) -> Engine:
    """An in-memory copy of the SQLite database at ``url``, migrated to the current schema."""
    path = make_url(url).database
    if not path or path == ":memory:" or not Path(path).is_file():
        raise DatabaseError(f"no database at {path or redact(url)}: no SQLite file to read")
    engine = make_engine(IN_MEMORY)
    try:
        source = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read {redact(url)}: {exc}") from None
    try:
        with engine.connect() as connection:
            source.backup(connection.connection.dbapi_connection)  # type: ignore[arg-type]
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read {redact(url)}: {exc}") from None
    finally:
        source.close()
    migrate(engine)
    return engine


def rules_matched_before(store: Store, story_id: int, article_id: int) -> set[str]:
    """Rules that other articles of the story matched: the story has alerted on them."""
    with store.session() as session:
        return set(
            session.scalars(
                select(m.MatchRow.rule)
                .join(m.Article, m.Article.id == m.MatchRow.article_id)
                .where(m.Article.story_id == story_id, m.Article.id != article_id)
            )
        )
