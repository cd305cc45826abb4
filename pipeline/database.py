"""The database itself: where it is, how to connect, and its schema (Alembic).

SQLite is the embedded default (``wirewatch.db`` in the data directory); ``DATABASE_URL``
selects PostgreSQL. ``open_database`` gives an engine whose schema is current.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from .errors import DatabaseError
from .secrets import mask


def data_dir() -> Path:
    """``WIREWATCH_DATA_DIR``, else the user data dir (``~/.local/share/wirewatch`` on Linux)."""
    chosen = os.environ.get("WIREWATCH_DATA_DIR")
    return Path(chosen) if chosen else Path(platformdirs.user_data_dir("wirewatch"))


def database_url(explicit: str | None = None) -> str:
    """The URL to use: explicit, else ``DATABASE_URL``, else SQLite in the data directory."""
    url = explicit or os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{data_dir() / 'wirewatch.db'}"
    return normalise_database_url(url)


def normalise_database_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` forms that platforms set."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def redact(url: str) -> str:
    """``url`` without its password, however malformed it is."""
    try:
        return mask(make_url(url).render_as_string(hide_password=True))
    except ArgumentError:  # malformed: whatever precedes an "@" may be a password
        return mask(re.sub(r"[^\s/@]*@", "***@", url))


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"invalid database URL: {redact(url)!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (ArgumentError, ImportError) as exc:
        raise DatabaseError(f"cannot use database {redact(url)}: {exc}") from None


def private_file(path: Path) -> None:
    """Create the SQLite file (0600) and its directory (0700, when wirewatch creates it)
    before SQLite does, so that neither is ever readable by other users. The ``-wal``
    and ``-shm`` files SQLite adds take the database file's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def alembic_dir() -> Path:
    packaged = Path(__file__).parent / "migrations"
    if (packaged / "env.py").is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "alembic"


def _alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(alembic_dir()))
    # Alembic's Config is a ConfigParser: "%" starts an interpolation, so a password with
    # a percent-encoded character would crash it (and print the URL) unless doubled.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision."""
    from alembic import command

    config = _alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise DatabaseError(
            f"database unreachable: {redact(str(engine.url))}: {reason(exc)}"
        ) from None


def schema_revision(engine: Engine) -> tuple[str | None, str]:
    """(current revision of the database, newest revision shipped)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head() or ""
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseError(
            f"database unreachable: {redact(str(engine.url))}: {reason(exc)}"
        ) from None
    return current, head


def open_database(url: str, *, auto_migrate: bool | None = None) -> Engine:
    """An engine whose schema is current. SQLite is migrated automatically by default;
    PostgreSQL must have been migrated (``wirewatch migrate``, the Procfile's release step)."""
    engine = make_engine(url)
    if auto_migrate is None:
        auto_migrate = is_sqlite(engine)
    if auto_migrate:
        migrate(engine)
        return engine
    current, head = schema_revision(engine)
    if current != head:
        raise DatabaseError(
            f"database {redact(url)} is at revision {current or 'none'}, not {head}: "
            "run `wirewatch migrate`"
        )
    return engine


def installation_id(engine: Engine) -> str:
    """This database's installation id (created by ``wirewatch migrate``)."""
    with engine.connect() as connection:
        found = connection.execute(text("SELECT id FROM installation LIMIT 1")).scalar()
    return str(found or "")


def reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    return " ".join(str(original).split())[:300]
