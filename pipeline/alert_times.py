"""When each article was published (feed), first seen (fetch) and alerted (sent), and the
figures drawn from them: time-to-alert per source for ``status`` and the metrics, and each
feed's typical delay for ``wirewatch feeds``. The percentile arithmetic is pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from . import models as m
from .store import Store

WINDOW = timedelta(hours=24)
FEED_DELAY_WINDOW = timedelta(days=7)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


def summarise(delays: Sequence[float]) -> dict[str, float | int]:
    return {
        "n": len(delays),
        "p50": round(percentile(delays, 0.5), 1),
        "p95": round(percentile(delays, 0.95), 1),
    }


def record_first_seen(store: Store, article_id: int, when: datetime) -> None:
    with store.session() as session:
        session.execute(
            update(m.Article)
            .where(m.Article.id == article_id, m.Article.first_seen_at.is_(None))
            .values(first_seen_at=when)
        )


def record_alerted(store: Store, alert_id: int, when: datetime) -> None:
    """The article of a sent alert was alerted now, unless an earlier alert was sent."""
    article = select(m.AlertRow.article_id).where(m.AlertRow.id == alert_id).scalar_subquery()
    with store.session() as session:
        session.execute(
            update(m.Article)
            .where(m.Article.id == article, m.Article.alerted_at.is_(None))
            .values(alerted_at=when)
        )


def time_to_alert(store: Store, now: datetime, window: timedelta = WINDOW) -> dict[str, dict]:
    """Per source, over articles alerted within ``window``: seconds from first seen to
    alerted (``seen``) and from published to alerted (``published``, dated items only)."""
    articles = m.Article
    with store.session() as session:
        rows = session.execute(
            select(
                articles.source,
                articles.published_at,
                articles.first_seen_at,
                articles.fetched_at,
                articles.alerted_at,
            ).where(articles.alerted_at >= now - window)
        ).all()
    seen: dict[str, list[float]] = {}
    published: dict[str, list[float]] = {}
    for source, published_at, first_seen_at, fetched_at, alerted_at in rows:
        start = first_seen_at or fetched_at
        seen.setdefault(source, []).append(max((alerted_at - start).total_seconds(), 0.0))
        if published_at is not None and published_at <= alerted_at:
            published.setdefault(source, []).append((alerted_at - published_at).total_seconds())
    return {
        source: {
            "seen": summarise(delays),
            "published": summarise(published[source]) if source in published else None,
        }
        for source, delays in sorted(seen.items())
    }


def feed_delays(
    store: Store, now: datetime, window: timedelta = FEED_DELAY_WINDOW
) -> dict[int, float]:
    """Per feed id, the median seconds from an item's publication to its first sighting
    (the feed's own lag plus the polling interval) over ``window``."""
    with store.session() as session:
        rows = session.execute(
            select(m.Entry.feed_id, m.Article.published_at, m.Article.first_seen_at)
            .join(m.Article, m.Article.id == m.Entry.article_id)
            .where(
                m.Article.first_seen_at >= now - window,
                m.Article.published_at.is_not(None),
            )
        ).all()
    delays: dict[int, list[float]] = {}
    for feed_id, published_at, first_seen_at in rows:
        lag = (first_seen_at - published_at).total_seconds()
        if lag >= 0:
            delays.setdefault(feed_id, []).append(lag)
    return {feed_id: percentile(values, 0.5) for feed_id, values in delays.items()}


def with_time_to_alert(store: Store, now: datetime) -> dict[str, Any]:
    """The status figures (``feedwatch.feed_status``: the store's, plus feed problems)
    with ``time_to_alert`` per source added (``status``, metrics)."""
    from .feedwatch import feed_status  # feedwatch -> alert -> delivery imports this module

    return {**feed_status(store, now), "time_to_alert": time_to_alert(store, now)}


def describe_delay(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def describe_time_to_alert(per_source: dict[str, dict]) -> list[str]:
    """Lines for ``wirewatch status``: per source, first seen → alerted and published →
    alerted, p50/p95 over the last 24 h."""
    if not per_source:
        return ["time to alert (24 h): no alerts sent"]
    lines = ["time to alert (24 h), first seen → sent | published → sent:"]
    for source, figures in per_source.items():
        seen, published = figures["seen"], figures["published"]
        line = (
            f"  {source}: p50 {describe_delay(seen['p50'])}, p95 {describe_delay(seen['p95'])}"
            f" ({seen['n']} alerts)"
        )
        if published:
            line += (
                f" | p50 {describe_delay(published['p50'])}, p95 {describe_delay(published['p95'])}"
            )
        lines.append(line)
    return lines
