"""Feed health: when to check a feed next, and when to stop. Pure: outcome in, decision out.

* success: next check after the feed's interval (adaptive feeds: a quarter of it while
  they keep bringing new entries, back to the interval when they go quiet);
* temporary failure (timeout, connection error, 5xx, 429, too large, parse error):
  exponential backoff from the interval, at most ``MAX_BACKOFF``, never sooner than the
  server's ``Retry-After`` - itself capped at ``MAX_RETRY_AFTER`` (a 30-day value would
  silence the feed for 30 days), with a ``note`` saying so;
* ``410 Gone``: disabled at once; other permanent failures (404 and other 4xx, not a
  feed, invalid or refused address, redirect loop): disabled after ``DISABLE_AFTER``
  *permanent* errors in a row. A temporary failure or a success in between starts the
  count again, so four timeouts and one 404 are one permanent error, not five.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .types import FetchResult

PERMANENT_OUTCOMES = frozenset(
    {"gone", "not_found", "http_4xx", "not_a_feed", "invalid_url", "blocked_address",
     "redirect_loop"}
)  # fmt: skip
DISABLE_AFTER = 5
MAX_BACKOFF = timedelta(hours=12)
MAX_RETRY_AFTER = timedelta(hours=6)
ADAPTIVE_FLOOR = timedelta(minutes=1)


@dataclass(frozen=True)
class Health:
    next_check_at: datetime
    consecutive_failures: int
    disabled_reason: str | None = None
    permanent_failures: int = 0
    """Permanent errors in a row (what ``DISABLE_AFTER`` counts)."""
    note: str | None = None
    """Something the operator should hear about, e.g. a capped ``Retry-After``."""


def after_fetch(
    outcome: str,
    error: str | None,
    *,
    failures_before: int,
    interval: timedelta,
    permanent_before: int = 0,
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
    permanent = permanent_before + 1 if outcome in PERMANENT_OUTCOMES else 0
    if outcome == "gone":
        reason = f"the feed is gone (HTTP 410): {error}"
        return Health(now + interval, failures, reason, permanent)
    if permanent >= DISABLE_AFTER:
        reason = f"{permanent} permanent errors in a row: {error}"
        return Health(now + interval, failures, reason, permanent)
    delay = min(interval * 2 ** min(failures - 1, 16), max(MAX_BACKOFF, interval))
    note = None
    if retry_after is not None:
        asked = timedelta(seconds=retry_after)
        if asked > MAX_RETRY_AFTER:
            note = f"Retry-After of {asked} capped to {MAX_RETRY_AFTER}"
            asked = MAX_RETRY_AFTER
        delay = max(delay, asked)
    return Health(now + delay, failures, None, permanent, note)


class FeedCounters(Protocol):
    consecutive_failures: int
    permanent_failures: int
    interval: timedelta
    adaptive: bool


def health_after(
    feed: FeedCounters, result: FetchResult, now: datetime, *, new_entries: int = 0
) -> Health:
    """``after_fetch`` for one feed's stored counters and one fetch result."""
    return after_fetch(
        result.outcome,
        result.error,
        failures_before=feed.consecutive_failures,
        permanent_before=feed.permanent_failures,
        interval=feed.interval,
        now=now,
        retry_after=result.retry_after,
        new_entries=new_entries,
        adaptive=feed.adaptive,
    )


def moved(result: FetchResult) -> bool:
    """Whether to fetch a feed from where it redirected to from now on: only when every
    redirect was permanent and the new address answered with a feed."""
    return bool(result.permanent_redirect) and result.outcome in ("ok", "not_modified")


STALE_AFTER = timedelta(hours=24)
"""A feed without a successful fetch for this long (or four intervals, if longer) is stale."""


class FeedView(Protocol):
    label: str
    enabled: bool
    interval: timedelta
    disabled_reason: str | None
    consecutive_failures: int
    last_outcome: str | None
    last_error: str | None
    last_success_at: datetime | None
    last_checked_at: datetime | None


@dataclass(frozen=True)
class FeedProblem:
    feed: str
    state: str
    """``disabled``, ``failing`` or ``stale``."""
    detail: str


def feed_problem(feed: FeedView, now: datetime) -> FeedProblem | None:
    """What an operator should know about one feed, or ``None`` when it is healthy."""
    if not feed.enabled:
        return FeedProblem(feed.label, "disabled", feed.disabled_reason or "disabled")
    if feed.consecutive_failures > 0:
        since = (
            f", last success {feed.last_success_at:%Y-%m-%d %H:%M}Z" if feed.last_success_at else ""
        )
        detail = (
            f"{feed.consecutive_failures} failures in a row "
            f"({feed.last_outcome}: {feed.last_error}){since}"
        )
        return FeedProblem(feed.label, "failing", detail)
    quiet_for = max(STALE_AFTER, 4 * feed.interval)
    if feed.last_success_at is not None and now - feed.last_success_at > quiet_for:
        detail = f"no successful fetch since {feed.last_success_at:%Y-%m-%d %H:%M}Z"
        return FeedProblem(feed.label, "stale", detail)
    return None


def feed_problems(feeds: Iterable[FeedView], now: datetime) -> list[FeedProblem]:
    return [problem for feed in feeds if (problem := feed_problem(feed, now)) is not None]
