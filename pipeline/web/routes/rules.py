"""The rules list and the rule workbench: preview as you type, labels, save."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ... import models as m
from ...errors import ConfigError
from .. import accounts
from ..desk import desk_of, principal_of
from ..evaluate import LABELS, articles_jsonl_line, labels_jsonl
from ..preview import load_articles
from ..rules_file import save_rule
from ..workbench import Draft, evaluate_all, saved_query, try_draft
from .common import back, int_param, is_htmx, need


async def rules_page(request: Request) -> Response:
    desk = desk_of(request)
    rules = desk.rules()
    evaluations = {e.rule: e for e in evaluate_all(desk, rules)}
    return desk.render(request, "rules.html", rules=rules, evaluations=evaluations)


async def workbench_page(request: Request) -> Response:
    desk = desk_of(request)
    name = request.path_params.get("name", "")
    query = saved_query(desk, name) if name else ""
    if name and query is None:
        raise HTTPException(404, "no such rule")
    days = int_param(request.query_params.get("days"), 30, 1, 365)
    outcome = try_draft(desk, Draft(name, query or "", days)) if query else None
    return desk.render(
        request, "workbench.html", name=name, query=query or "", days=days, outcome=outcome,
        saved=request.query_params.get("saved") == "1", label_names=LABELS,
        is_new=not name,
    )  # fmt: skip


async def _draft_from(request: Request) -> Draft:
    form = await request.form()
    days = int_param(str(form.get("days", "")), 30, 1, 365)
    return Draft(str(form.get("name", "")).strip(), str(form.get("query", "")), days)


async def preview_draft(request: Request) -> Response:
    desk = desk_of(request)
    draft = await _draft_from(request)
    outcome = try_draft(desk, draft) if draft.query.strip() else None
    if is_htmx(request):
        return desk.render(request, "_preview.html", outcome=outcome, label_names=LABELS)
    return desk.render(
        request, "workbench.html", name=draft.name, query=draft.query, days=draft.days,
        outcome=outcome, saved=False, label_names=LABELS, is_new=not saved_query(desk, draft.name),
    )  # fmt: skip


async def save_draft(request: Request) -> Response:
    need(request, "analyst")
    desk = desk_of(request)
    draft = await _draft_from(request)
    try:
        save_rule(desk.rules_path, draft.name, draft.query)
    except ConfigError as exc:
        return desk.render(
            request, "workbench.html", code=422, name=draft.name, query=draft.query,
            days=draft.days, outcome=None, saved=False, label_names=LABELS, is_new=True,
            save_error=str(exc),
        )  # fmt: skip
    return back(request, f"/rules/{draft.name}?saved=1&days={draft.days}")


async def label_article(request: Request) -> Response:
    need(request, "analyst")
    desk = desk_of(request)
    form = await request.form()
    rule, label = str(form.get("rule", "")), str(form.get("label", ""))
    if form.get("story_id"):
        ids = accounts.story_article_ids(desk.store, int_param(str(form["story_id"]), 0, 0, 2**62))
    else:
        ids = [int_param(str(form.get("article_id", "")), 0, 0, 2**62)]
    if not ids:
        raise HTTPException(400, "no such story")
    try:
        for article_id in ids:
            accounts.set_label(
                desk.store, article_id, rule, label, principal_of(request).name, desk.clock()
            )
    except ConfigError as exc:
        raise HTTPException(400, str(exc)) from None
    if is_htmx(request):
        response = desk.render(
            request, "_label.html", article_id=ids[0], rule=rule, current=label,
            label_names=LABELS,
        )  # fmt: skip
        response.headers["HX-Trigger"] = "labels-changed"
        return response
    fallback = f"/stories/{form['story_id']}" if form.get("story_id") else f"/articles/{ids[0]}"
    return back(request, fallback)


async def export(request: Request) -> Response:
    desk = desk_of(request)
    body = labels_jsonl(accounts.labels(desk.store))
    return PlainTextResponse(
        body, media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="labels.jsonl"'},
    )  # fmt: skip


async def export_articles(request: Request) -> Response:
    """The labelled articles (or with ``?days=N`` every article of the period) as the
    ARTICLES input of ``rules test``/``replay``, with the ids the labels use."""
    desk = desk_of(request)
    days = request.query_params.get("days")
    if days:
        since = desk.clock() - timedelta(days=int_param(days, 30, 1, 365))
        with desk.store.session() as session:
            ids = list(session.scalars(select(m.Article.id).where(m.Article.fetched_at >= since)))
    else:
        ids = sorted({record.article_id for record in accounts.labels(desk.store)})

    def lines() -> Iterator[str]:
        for first in range(0, len(ids), 500):
            with desk.store.session() as session:
                for item in load_articles(session, ids[first : first + 500]):
                    yield articles_jsonl_line(item)

    return StreamingResponse(
        lines(), media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="articles.jsonl"'},
    )  # fmt: skip


routes = [
    Route("/rules", rules_page, methods=["GET"]),
    Route("/rules/new", workbench_page, methods=["GET"]),
    Route("/rules/preview", preview_draft, methods=["POST"]),
    Route("/rules/save", save_draft, methods=["POST"]),
    Route("/rules/{name}", workbench_page, methods=["GET"]),
    Route("/labels", label_article, methods=["POST"]),
    Route("/labels.jsonl", export, methods=["GET"]),
    Route("/articles.jsonl", export_articles, methods=["GET"]),
]
