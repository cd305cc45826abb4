"""One run at a time: a cron ``run-once`` that starts while the previous one is still
going, or a second worker on SQLite, exits at once instead of doing the work twice.

PostgreSQL: a session-level advisory lock (released by the server if the process dies).
SQLite: an exclusive ``flock`` on a file beside the database (released by the kernel).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, text

LOCK_KEY = 0x77697265  # "wire"


class RunLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            self._connection = self.engine.connect()
            taken = self._connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            )
            self._connection.commit()
            if not taken:
                self._connection.close()
                self._connection = None
            return bool(taken)
        path = self.lock_path()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def lock_path(self) -> Path:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return Path(os.environ.get("TMPDIR", "/tmp")) / f"wirewatch-{os.getpid()}.lock"
        return Path(database).with_name(Path(database).name + ".lock")

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
