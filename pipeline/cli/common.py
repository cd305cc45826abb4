"""What every command shares: the environment (config and database, opened lazily), one
line on stderr instead of a traceback, logging, and option parsing helpers.

Only click and wirewatch's light modules are imported here; everything heavy (the
pipeline, SQLAlchemy, trafilatura, Slack) is imported inside the command that uses it,
so ``--help`` and ``--version`` start fast.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import WirewatchError

if TYPE_CHECKING:
    from ..config import Config
    from ..run import Pipeline
    from ..store import Store

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("wirewatch")
INTERRUPTED_EXIT = 130


@dataclass
class Env:
    """Where the config and database are; each is opened on first use."""

    config_dir: str | None
    db_url: str | None
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        from ..config import load_config

        if self._config is None:
            self._config = load_config(self.config_dir)
        return self._config

    def store(self, *, auto_migrate: bool | None = None) -> Store:
        """The store for a command that writes: SQLite is created and migrated."""
        from ..database import database_url, open_database
        from .dbcheck import check_url_form, check_writable

        url = database_url(self.db_url)
        check_url_form(url, explicit=self.db_url)
        check_writable(url)
        return self._store(open_database(url, auto_migrate=auto_migrate))

    def read_store(self) -> Store:
        """The store for a command that only reads: never created, never migrated."""
        from ..database import database_url
        from .dbcheck import check_url_form, open_existing

        url = database_url(self.db_url)
        check_url_form(url, explicit=self.db_url)
        return self._store(open_existing(url))

    def _store(self, engine: Any) -> Store:
        from ..config import load_settings, resolve_config_dir
        from ..store import Store

        window = load_settings(resolve_config_dir(self.config_dir)).dedupe.story_window
        return Store(engine, story_window=window)

    def pipeline(self) -> Pipeline:
        from ..run import Pipeline

        config = self.config
        return Pipeline.build(config, self.store())


def friendly_errors(command: F) -> F:
    """A ``WirewatchError`` becomes one line and its exit code; Ctrl-C one line and 130."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except WirewatchError as exc:
            click.echo(f"wirewatch: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            interrupted()
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors: main() prints them in one line
        except Exception as exc:  # a bug: one line; the traceback only with -vv
            context = click.get_current_context(silent=True)
            if context is not None and context.meta.get("verbose", 0) >= 2:
                raise
            click.echo(
                f"wirewatch: unexpected error: {type(exc).__name__}: {exc} "
                "(run with -vv for the traceback)",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def interrupted() -> None:
    """Every write is one transaction, so an interrupted one is rolled back whole."""
    click.echo("\nwirewatch: interrupted, nothing half-stored", err=True)
    sys.exit(INTERRUPTED_EXIT)


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, for log collectors (``--log-format json``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(verbose: int, quiet: bool) -> None:
    """Without -v only errors are logged: commands print their own summaries of the rest.
    Known secrets (webhook URLs, passwords) are masked in every line (``pipeline.secrets``)."""
    from ..secrets import MaskingFilter

    levels = {0: logging.ERROR, 1: logging.INFO}
    level = logging.ERROR if quiet else levels.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    if click.get_current_context().meta.get("log_format") == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(MaskingFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    noisy_loggers = ("httpx", "httpcore", "trafilatura", "htmldate", "courlan", "apscheduler")
    for noisy in (*noisy_loggers, "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def duration(value: str, option: str) -> timedelta:
    from ..config import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    except OverflowError:
        raise click.BadParameter(f"{value!r} is too long a time", param_hint=option) from None


def cutoff(value: str, option: str, now: datetime) -> datetime:
    """``now`` minus a duration option; one far beyond the calendar is a usage error."""
    try:
        return now - duration(value, option)
    except OverflowError:
        raise click.BadParameter(f"{value!r} reaches before year 1", param_hint=option) from None


def echo_json(record: Any) -> None:
    click.echo(json.dumps(record, ensure_ascii=False))
