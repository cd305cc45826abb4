"""Feed health: when to check a feed next, and when to stop. Pure: outcome in, decision out.

* success: next check after the feed's interval (adaptive feeds: a quarter of it while
  they keep bringing new entries, back to the interval when they go quiet);
* temporary failure (timeout, connection error, 5xx, 429, too large, parse error):
  exponential backoff from the interval, at most ``MAX_BACKOFF``, never sooner than the
  server's ``Retry-After``;
* ``410 Gone``: disabled at once; other permanent failures (404 and other 4xx, not a
  feed, invalid or refused address): disabled after ``DISABLE_AFTER`` in a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

PERMANENT_OUTCOMES = frozenset(
    {"gone", "not_found", "http_4xx", "not_a_feed", "invalid_url", "blocked_address"}
)
DISABLE_AFTER = 5
MAX_BACKOFF = timedelta(hours=12)
ADAPTIVE_FLOOR = timedelta(minutes=1)


@dataclass(frozen=True)
class Health:
    next_check_at: datetime
    consecutive_failures: int
    disabled_reason: str | None = None


def after_fetch(
    outcome: str,
    error: str | None,
    *,
    failures_before: int,
    interval: timedelta,
    now: datetime,
    retry_after: float | None = None,
    new_entries: int = 0,
    adaptive: bool = False,
) -> Health:
    if outcome in ("ok", "not_modified"):
        step = interval
        if adaptive and new_entries:
            step = max(interval / 4, min(ADAPTIVE_FLOOR, interval))
        return Health(now + step, 0)
    failures = failures_before + 1
    if outcome == "gone":
        return Health(now + interval, failures, f"the feed is gone (HTTP 410): {error}")
    if outcome in PERMANENT_OUTCOMES and failures >= DISABLE_AFTER:
        return Health(now + interval, failures, f"{failures} permanent errors in a row: {error}")
    delay = min(interval * 2 ** min(failures - 1, 16), max(MAX_BACKOFF, interval))
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return Health(now + delay, failures)
