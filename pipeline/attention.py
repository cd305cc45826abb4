"""What ``wirewatch status --check`` flags. Pure: the status figures in, problems out.

Each check is a small function of (figures, now) that returns the problems it sees, one
sentence each; ``CHECKS`` lists them, so a new condition is one function and one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

HEARTBEAT_SILENCE = timedelta(minutes=5)
"""A worker that has not stopped but sent no heartbeat for this long is presumed dead."""

Figures = Mapping[str, Any]


def dead_alerts(figures: Figures, now: datetime) -> list[str]:
    dead = figures["alerts"].get("dead", 0)
    if not dead:
        return []
    noun = "alert is" if dead == 1 else "alerts are"
    return [f"{dead} {noun} dead (wirewatch alerts --status dead; alerts retry --dead)"]


def silent_workers(figures: Figures, now: datetime) -> list[str]:
    """Workers presumed dead: the store's ``stale`` flag when the figures carry it (its
    threshold, ``STALE_HEARTBEAT``), else silent for ``HEARTBEAT_SILENCE``."""
    problems = []
    for record in figures["workers"]:
        if record["stopped"]:
            continue
        heartbeat = datetime.fromisoformat(record["heartbeat"])
        stale = record["stale"] if "stale" in record else now - heartbeat > HEARTBEAT_SILENCE
        if stale:
            minutes = int((now - heartbeat).total_seconds() // 60)
            problems.append(
                f"worker {record['worker']} has sent no heartbeat for {minutes} min "
                "and did not stop cleanly"
            )
    return problems


def feed_trouble(figures: Figures, now: datetime) -> list[str]:
    """Feeds failing or disabled (``feedwatch.feed_status``); a merely stale feed is shown
    by ``status`` but is not a problem on its own."""
    return [
        f"feed {problem['feed']}: {problem['state']}: {problem['detail']}"
        for problem in figures.get("feed_problems", ())
        if problem["state"] in ("failing", "disabled")
    ]


CHECKS: list[Callable[[Figures, datetime], list[str]]] = [
    dead_alerts,
    silent_workers,
    feed_trouble,
]


def needs_attention(figures: Figures, now: datetime) -> list[str]:
    """Every problem the checks find, in the order of ``CHECKS``."""
    return [problem for check in CHECKS for problem in check(figures, now)]
