"""The real clock. Components take their clock as an argument (tests pass a fixed or
driven one); this is the default they fall back to."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)
