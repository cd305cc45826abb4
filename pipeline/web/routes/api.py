"""The JSON API: the same data as the pages, for scripts (``Authorization: Bearer``)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import queries
from ..desk import desk_of
from ..workbench import Draft, try_draft
from .common import int_param, since_param
from .matches import story_rows
from .sources import source_rows


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and datetimes -> JSON values."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _json(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(_plain(payload), status_code=status)


async def api_matches(request: Request) -> Response:
    desk = desk_of(request)
    params = request.query_params
    since, _ = since_param(params.get("since"))
    rows = story_rows(
        desk, rule=params.get("rule", ""), tag=params.get("tag", ""),
        source=params.get("source", ""), since=since,
        limit=int_param(params.get("limit"), 100, 1, 500),
    )  # fmt: skip
    stories = [
        {**asdict(row), "rules": [{"rule": r, "score": s} for r, s in row.rules]} for row in rows
    ]
    return _json({"since": since, "stories": stories})


async def api_story(request: Request) -> Response:
    found = queries.story(desk_of(request).store, request.path_params["story_id"])
    if found is None:
        return _json({"error": "no such story"}, 404)
    return _json(asdict(found))


async def api_feeds(request: Request) -> Response:
    feeds = [
        {**asdict(row.feed), "interval": row.feed.interval.total_seconds(),
         "items_per_day": row.items_per_day, "state": row.state}
        for row in source_rows(desk_of(request))
    ]  # fmt: skip
    return _json({"feeds": feeds})


async def api_preview(request: Request) -> Response:
    """``{"query": "...", "days": 30, "name": "rule"?}`` -> matches with evidence."""
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HTTPException(400, "the body must be a JSON object") from None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _json({"error": 'expected {"query": "...", "days": 30}'}, 400)
    days = int_param(str(body.get("days", 30)), 30, 1, 365)
    started = time.perf_counter()
    outcome = try_draft(desk_of(request), Draft(str(body.get("name") or ""), body["query"], days))
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if outcome.error or outcome.preview is None:
        return _json({"error": outcome.error or "empty query"}, 422)
    result = outcome.preview
    return _json(
        {
            "query": body["query"], "days": days, "elapsed_ms": elapsed_ms,
            "candidates": result.candidates, "checked": result.checked,
            "truncated": result.truncated, "checked_back_to": result.checked_back_to,
            "matches": [asdict(match) for match in result.matches],
            "added": [match.article_id for match in result.added],
            "lost": [match.article_id for match in result.lost],
            "stories_per_day": [{"day": d, "stories": n} for d, n in result.stories_per_day],
        }
    )  # fmt: skip


routes = [
    Route("/api/matches", api_matches, methods=["GET"]),
    Route("/api/stories/{story_id:int}", api_story, methods=["GET"]),
    Route("/api/feeds", api_feeds, methods=["GET"]),
    Route("/api/rules/preview", api_preview, methods=["POST"]),
]
