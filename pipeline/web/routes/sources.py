"""Sources (every feed's health, with enable) and the outbox (with retry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...store import FeedState
from ..desk import Desk, desk_of
from ..queries import items_per_day
from .common import back, int_param, need

ACTIVITY_WINDOW = timedelta(days=7)
ALERT_STATUSES = ("pending", "sending", "sent", "dead")


@dataclass(frozen=True)
class SourceRow:
    feed: FeedState
    items_per_day: float
    state: str
    """``ok``, ``failing``, ``backing off`` or ``disabled``."""


def source_rows(desk: Desk) -> list[SourceRow]:
    now = desk.clock()
    activity = items_per_day(desk.store, now - ACTIVITY_WINDOW, now)
    return [
        SourceRow(feed, activity.get(feed.id, 0.0), _state(feed, now))
        for feed in desk.store.feed_states()
    ]


def _state(feed: FeedState, now: object) -> str:
    if not feed.enabled:
        return "disabled"
    if feed.backing_off(now):  # type: ignore[arg-type]
        return "backing off"
    return "failing" if feed.consecutive_failures else "ok"


async def sources_page(request: Request) -> Response:
    desk = desk_of(request)
    return desk.render(request, "sources.html", rows=source_rows(desk))


async def enable_feed(request: Request) -> Response:
    need(request, "analyst")
    desk = desk_of(request)
    form = await request.form()
    desk.store.enable_feed(str(form.get("url", "")), desk.clock())
    return back(request, "/sources")


async def outbox_page(request: Request) -> Response:
    desk = desk_of(request)
    status = request.query_params.get("status") or None
    if status not in (None, *ALERT_STATUSES):
        status = None
    limit = int_param(request.query_params.get("limit"), 200, 1, 1000)
    alerts = desk.store.alerts(status, limit)
    return desk.render(
        request, "outbox.html", alerts=alerts, status=status or "", statuses=ALERT_STATUSES
    )


async def retry_alerts(request: Request) -> Response:
    need(request, "analyst")
    desk = desk_of(request)
    form = await request.form()
    desk.store.requeue(desk.clock(), dead=form.get("which") == "dead")
    return back(request, "/outbox")


routes = [
    Route("/sources", sources_page, methods=["GET"]),
    Route("/sources/enable", enable_feed, methods=["POST"]),
    Route("/outbox", outbox_page, methods=["GET"]),
    Route("/outbox/retry", retry_alerts, methods=["POST"]),
]
