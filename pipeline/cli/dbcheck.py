"""Checks before a database is opened, so that a wrong ``--db`` or data directory gets a
sentence naming the right form instead of "database unreachable".

* a bare path given as a URL: the ``sqlite:///`` form to use instead;
* a read-only data directory for a command that writes;
* a missing SQLite file for a command that only reads (which never creates one), with a
  hint when a three-slash path is relative to the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DatabaseError


class MissingDatabase(DatabaseError):
    """The SQLite file a read-only command was pointed at does not exist."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    database = url.split("://", 1)[1].split("?", 1)[0].removeprefix("/")
    return Path(database) if database and database != ":memory:" else None


def check_url_form(url: str, *, explicit: str | None) -> None:
    """A database URL has a scheme; a bare file name is a usage error showing the form."""
    if "://" in url:
        return
    shown = Path(url).expanduser().resolve()
    raise ConfigError(
        f"--db/DATABASE_URL {url!r} is not a database URL; for a SQLite file use "
        f"sqlite:///{shown} (absolute path: four slashes in all), or postgresql://user@host/db"
    )


def check_writable(url: str) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(
            f"data directory {directory} cannot be created: {exc.strerror}"
        ) from None
    if not os.access(directory, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise DatabaseError(
            f"data directory {directory} is read-only: wirewatch needs to write {path.name} "
            "there (set WIREWATCH_DATA_DIR or --db to a writable place)"
        )


def open_existing(url: str) -> Any:
    """An engine on a database that exists and is migrated; nothing is created."""
    from ..database import open_database

    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise MissingDatabase(missing_sqlite_message(url, path))
    return open_database(url, auto_migrate=False)


def missing_sqlite_message(url: str, path: Path) -> str:
    message = f"no database at {path}: nothing has been stored yet (run `wirewatch run-once`)"
    if not path.is_absolute():
        message += (
            f"; {url} is relative to the working directory {Path.cwd()}, an absolute path "
            f"needs four slashes: sqlite:///{path.resolve()}"
        )
    return message
