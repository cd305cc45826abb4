"""Replay: dedupe and match a JSON Lines archive without fetching or sending anything.

Input, one object per line: ``{"id", "title", "text", "url"?, "published"?, "source"?}``.
Output, one object per input line, in input order (a stable contract)::

    {"id": ..., "duplicate_of": <id or null>, "story": <story key>,
     "matches": [{"rule": ..., "score": ..., "highlights": [...]}], "alerts": <bool>}

``story`` is the id of the first input of that story; ``duplicate_of`` the id of the
input this one repeats: the same URL or text, or a near-duplicate (syndicated copy,
update) whose story it joined. Articles already in a given ``--db`` are named
``article:<n>`` and their stories ``story:<n>``.

``matches`` are what the rules find in the input, duplicate or not; ``alerts`` says whether
the pipeline would alert on it: only for an input stored as a new article (never for a
repeat of a stored one), and only for a rule its story has not matched before (alerts are
per rule and story). Routes are not applied: which channels, and their ``min_score``, are
for ``alerts.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .match import Matcher
from .replay_db import rules_matched_before
from .store import Saved, Store
from .types import Article, Match


@dataclass(frozen=True)
class ReplayResult:
    id: Any
    duplicate_of: Any = None
    story: Any = None
    matches: tuple[Match, ...] = ()
    error: str | None = None
    alerts: bool = False

    def to_json(self) -> str:
        record: dict[str, Any] = {
            "id": self.id,
            "duplicate_of": self.duplicate_of,
            "story": self.story,
            "matches": [
                {
                    "rule": m.rule,
                    "score": m.score,
                    "terms": list(m.terms),
                    "highlights": list(m.highlights),
                }
                for m in self.matches
            ],
            "alerts": self.alerts,
        }
        if self.error:
            record["error"] = self.error
        return json.dumps(record, ensure_ascii=False)


def replay(
    lines: Iterable[str], matcher: Matcher, store: Store, clock: Callable[[], datetime]
) -> Iterator[ReplayResult]:
    article_names: dict[int, Any] = {}
    story_names: dict[int, Any] = {}
    for number, line, parsed in read_items(lines):
        if isinstance(parsed, ValueError):
            yield ReplayResult(id=_best_effort_id(line), error=f"line {number}: {parsed}")
            continue
        item_id, article = parsed
        analysis = matcher.analyse(article)
        matches = analysis.matches
        saved = store.save_article(article, matches, (), clock(), entities=analysis.entities)
        assert saved is not None  # no feed entry is given, so it is never "already seen"
        if saved.duplicate_of is None:
            article_names[saved.article_id] = item_id
            story_names.setdefault(saved.story_id, item_id)
        repeated = saved.duplicate_of or saved.similar_to
        duplicate_of = (
            article_names.get(repeated, f"article:{repeated}") if repeated is not None else None
        )
        story = story_names.get(saved.story_id, f"story:{saved.story_id}")
        alerts = would_alert(saved, matches, store)
        yield ReplayResult(item_id, duplicate_of, story, matches, alerts=alerts)


def would_alert(saved: Saved, matches: tuple[Match, ...], store: Store) -> bool:
    """As the pipeline decides: a repeat never alerts; a new article alerts for the rules
    its story had not matched before (a new story has matched none)."""
    if saved.duplicate_of is not None or not matches:
        return False
    if saved.similar_to is None:
        return True
    earlier = rules_matched_before(store, saved.story_id, saved.article_id)
    return any(match.rule not in earlier for match in matches)


def read_items(
    lines: Iterable[str],
) -> Iterator[tuple[int, str, tuple[Any, Article] | ValueError]]:
    """(line number, line, (id, article) or the problem) for each non-blank line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, line, parse_item(line)
        except ValueError as exc:
            yield number, line, exc


def parse_item(line: str) -> tuple[Any, Article]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(item, dict):
        raise ValueError("expected a JSON object")
    if item.get("id") in (None, ""):
        raise ValueError('missing "id"')
    for key in ("title", "text", "url", "source", "published"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise ValueError(f'"{key}" must be a string')
    title, text = item.get("title") or "", item.get("text") or ""
    if not (title or text):
        raise ValueError('needs a "title" or a "text"')
    url = item.get("url") or ""
    article = Article(
        url=url or f"replay:{item['id']}",
        title=title,
        text=text,
        source=item.get("source") or "replay",
        canonical_url=url or f"replay:{item['id']}",
        published=_parse_time(item.get("published")),
        extraction="replay",
    )
    return item["id"], article


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'"published" is not an ISO 8601 time: {value!r}') from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _best_effort_id(line: str) -> Any:
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return None
    return item.get("id") if isinstance(item, dict) else None
