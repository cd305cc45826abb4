"""A source never goes quiet without saying so: feed problems in ``status`` and the
metrics, and the ``ops:feed-disabled`` alert.

``feed_status`` adds to the store's figures the feeds that need attention (disabled,
failing, stale: ``pipeline.health.feed_problem``); ``wirewatch status`` lists them and
``status --check`` (``pipeline.attention``) exits 5 when one is failing or disabled.

When a feed is disabled, one alert goes out under the built-in rule name
``ops:feed-disabled`` (tag ``ops``), through the routes that select it like any other
rule (``rules: ["*"]``, ``rules: [ops:feed-disabled]`` or ``tags: [ops]``). It is stored
as a story of its own with one article (the feed's URL, the reason as text) and one
match, so it travels through the same outbox, retries and channels as news alerts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from . import models as m
from .alert import plan_alerts
from .config import FEED_DISABLED_RULE, RouteConfig
from .health import feed_problems
from .store import FeedState, Store
from .types import Match

OPS_TAG = "ops"


def feed_status(store: Store, now: datetime) -> dict[str, Any]:
    """The store's status figures, plus ``feeds_stale`` and ``feed_problems``."""
    figures: dict[str, Any] = dict(store.status(now))
    problems = feed_problems(store.feed_states(), now)
    figures["feeds_stale"] = sum(1 for problem in problems if problem.state == "stale")
    figures["feed_problems"] = [asdict(problem) for problem in problems]
    return figures


def feed_disabled_match(reason: str) -> Match:
    return Match(
        rule=FEED_DISABLED_RULE, score=1.0, terms=(), highlights=(reason,), tags=(OPS_TAG,)
    )


def record_feed_disabled(
    store: Store, feed: FeedState, reason: str, routes: Sequence[RouteConfig], now: datetime
) -> int:
    """Store the alert for a feed just disabled; returns how many channels it goes to."""
    match = feed_disabled_match(reason)
    planned = plan_alerts([match], routes)
    key = f"urn:wirewatch:feed-disabled:{feed.id}:{now.isoformat()}"
    with store.session() as session:
        story = m.Story(
            title=f"Feed disabled: {feed.label}", first_seen_at=now, last_seen_at=now,
            article_count=1,
        )  # fmt: skip
        session.add(story)
        session.flush()
        article = m.Article(
            story_id=story.id, url=feed.url[:2048], canonical_url=key,
            title=story.title, text=reason, text_hash=hashlib.sha256(key.encode()).hexdigest(),
            source="wirewatch", fetched_at=now, extraction="ops", entities=[],
        )  # fmt: skip
        session.add(article)
        session.flush()
        session.add(
            m.MatchRow(
                article_id=article.id, rule=match.rule, score=match.score, terms=[],
                highlights=list(match.highlights), created_at=now,
            )
        )  # fmt: skip
        session.add_all(
            m.AlertRow(
                rule=plan.rule, story_id=story.id, article_id=article.id, channel=plan.channel,
                route=plan.route, mode=plan.mode, status="pending", attempts=0,
                next_attempt_at=now, created_at=now,
            )
            for plan in planned
        )  # fmt: skip
    return len(planned)
