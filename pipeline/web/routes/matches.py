"""The matches page: one row per story, newest first, with filters."""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..desk import Desk, desk_of
from ..queries import StoryRow, group_by_story, outlets
from .common import int_param, since_param

SCAN_PER_ROW = 4
"""Matches read per story row wanted (a story can have several matches)."""


def story_rows(
    desk: Desk, *, rule: str = "", tag: str = "", source: str = "", since: str = "7d",
    limit: int = 100,
) -> list[StoryRow]:  # fmt: skip
    _, period = since_param(since)
    views = desk.store.recent_matches(desk.clock() - period, rule or None, SCAN_PER_ROW * limit)
    if tag:
        tagged = {r.name for r in desk.rules() if tag in r.tags}
        views = [v for v in views if v.rule in tagged]
    if source:
        views = [v for v in views if v.source == source]
    rows = group_by_story(views)[:limit]
    found = outlets(desk.store, [row.story_id for row in rows])
    return [replace(row, outlets=found.get(row.story_id, ())) for row in rows]


async def matches_page(request: Request) -> Response:
    desk = desk_of(request)
    params = request.query_params
    filters = {key: params.get(key, "") for key in ("rule", "tag", "source")}
    since, _ = since_param(params.get("since"))
    limit = int_param(params.get("limit"), 50, 1, 500)
    rows = story_rows(desk, since=since, limit=limit, **filters)
    rules = desk.rules()
    return desk.render(
        request, "matches.html", rows=rows, filters=filters, since=since,
        rule_names=[r.name for r in rules], tags=sorted({t for r in rules for t in r.tags}),
    )  # fmt: skip


routes = [Route("/", matches_page, methods=["GET"])]
