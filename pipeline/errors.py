"""The exception tree of wirewatch.

    WirewatchError            anything wirewatch expects and can explain in one line
    ├── ConfigError           a config file is missing, unreadable or invalid (exit 2)
    ├── DatabaseError         the database cannot be reached or is not migrated (exit 3)
    ├── BusyError             another run holds the lock (exit 4)
    ├── FetchError            one URL could not be fetched; carries an outcome code
    └── ChannelError          an alert channel refused or failed a delivery
                              (``permanent`` says whether retrying can help;
                              ``retry_after`` carries the receiver's Retry-After)

Third-party errors are wrapped once, at the edge where they occur, with ``raise ... from``.
"""

from __future__ import annotations


class WirewatchError(Exception):
    """Base class: the message is meant to be shown to the user as it is."""

    exit_code = 1


class ConfigError(WirewatchError):
    exit_code = 2


class DatabaseError(WirewatchError):
    exit_code = 3


class BusyError(WirewatchError):
    """Another run holds the lock (overlapping cron runs; a second worker on SQLite)."""

    exit_code = 4


class FetchError(WirewatchError):
    def __init__(self, outcome: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.status = status


class ChannelError(WirewatchError):
    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        """Seconds the receiver asked us to wait (HTTP Retry-After), if it said."""
