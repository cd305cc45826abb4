"""A story (its articles in order, what each added, its alerts) and an article (its text
with the matched terms marked, extraction outcome, labels)."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import queries
from ..accounts import labels_of_article
from ..desk import desk_of
from ..evaluate import LABELS


async def story_page(request: Request) -> Response:
    desk = desk_of(request)
    found = queries.story(desk.store, request.path_params["story_id"])
    if found is None:
        raise HTTPException(404, "no such story")
    added = queries.added_sentences(found.articles)
    return desk.render(
        request, "story.html", story=found, members=list(zip(found.articles, added, strict=True))
    )


async def article_page(request: Request) -> Response:
    desk = desk_of(request)
    found = queries.article(desk.store, request.path_params["article_id"])
    if found is None:
        raise HTTPException(404, "no such article")
    terms = {term for _, _, matched, _ in found.matches for term in matched}
    return desk.render(
        request, "article.html", article=found, text=mark_terms(found.text, terms),
        labels=labels_of_article(desk.store, found.id), label_names=LABELS,
        rule_names=[r.name for r in desk.rules()],
    )  # fmt: skip


def mark_terms(text: str, terms: set[str]) -> str:
    """``text`` with each matched term wrapped in ``**`` (rendered by the ``marked`` filter).

    Terms are the labels the matcher recorded (``licen*``, ``"export control*"``,
    ``entity:nvidia`` …): their words are marked wherever they occur, case-insensitively."""
    words = sorted(
        {w.lower() for term in terms if not term.startswith("entity:")
         for w in re.findall(r"\w+\*?", term.split("~")[0])},
        key=len, reverse=True,
    )  # fmt: skip
    if not words:
        return text.replace("**", "* *")
    pattern = "|".join(
        rf"\b{re.escape(w[:-1])}\w*" if w.endswith("*") else rf"\b{re.escape(w)}\b" for w in words
    )
    safe = text.replace("**", "* *")
    return re.sub(pattern, lambda m: f"**{m.group()}**", safe, flags=re.IGNORECASE)


routes = [
    Route("/stories/{story_id:int}", story_page, methods=["GET"]),
    Route("/articles/{article_id:int}", article_page, methods=["GET"]),
]
