"""The Federal Register API as a feed: ``documents.json`` -> entries. Pure: bytes in.

A feed with ``type: federal_register`` (feeds.yaml) is read with this parser instead of
the RSS/Atom one. The API answers ``{"count", "results": [{"document_number", "title",
"type", "abstract", "citation", "publication_date", "effective_on", "html_url",
"body_html_url", "raw_text_url", "agencies": [{"name", "raw_name", "slug"}], …}]}``.
Each document becomes an entry whose article carries its type (``doctype:rule`` in
queries) and, above its text, a line with the type, citation, dates and agencies; the
page at ``html_url`` is fetched and extracted for the full text, like any article.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from ..errors import FetchError
from ..types import FeedEntry, ParsedFeed

FEED_TYPE = "federal_register"
DOCTYPES = {
    "Rule": "rule",
    "Proposed Rule": "proposed_rule",
    "Notice": "notice",
    "Presidential Document": "presidential_document",
}
"""The API's document types -> the ``doctype`` words queries test."""


def parse_federal_register(
    body: bytes, *, content_type: str | None = None, now: datetime
) -> ParsedFeed:
    """Raises ``FetchError`` (``not_a_feed``/``parse_error``) for anything but the API's
    document list; documents without a number or title are skipped."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        kind = (content_type or "unknown type").split(";")[0]
        raise FetchError("not_a_feed", f"not Federal Register API JSON ({kind}): {exc}") from None
    results = data.get("results") if isinstance(data, dict) else None
    if results is None and isinstance(data, dict) and "count" in data:
        results = []  # a query with no documents answers without "results"
    if not isinstance(results, list):
        raise FetchError("parse_error", "Federal Register API answer without a 'results' list")
    entries = tuple(
        entry for entry in (_entry(doc, now) for doc in results if isinstance(doc, dict)) if entry
    )
    return ParsedFeed(entries=entries, title=_text(data.get("description")) or None)


def _entry(doc: dict[str, Any], now: datetime) -> FeedEntry | None:
    number, title = _text(doc.get("document_number")), _text(doc.get("title"))
    if not number or not title:
        return None
    doctype = DOCTYPES.get(_text(doc.get("type")))
    published = _day(doc.get("publication_date"))
    return FeedEntry(
        guid=f"federalregister:{number}",
        link=_text(doc.get("html_url")) or None,
        title=title,
        summary=_text(doc.get("abstract")),
        published=min(published, now) if published else None,
        author=_agencies(doc) or None,
        doctype=doctype,
        preface=_facts(doc, number),
    )


def _facts(doc: dict[str, Any], number: str) -> str:
    """ "Rule · 90 FR 4626 · published 2025-01-16 · effective 2025-02-15 · Industry and
    Security Bureau · document 2025-00798"."""
    parts = [_text(doc.get("type")) or "Document", _text(doc.get("citation"))]
    if doc.get("publication_date"):
        parts.append(f"published {_text(doc.get('publication_date'))}")
    if doc.get("effective_on"):
        parts.append(f"effective {_text(doc.get('effective_on'))}")
    parts += [_agencies(doc), f"document {number}"]
    return " · ".join(part for part in parts if part)


def _agencies(doc: dict[str, Any]) -> str:
    names = [
        _text(agency.get("name") or agency.get("raw_name"))
        for agency in doc.get("agencies") or []
        if isinstance(agency, dict)
    ]
    return ", ".join(dict.fromkeys(name for name in names if name))


def _day(value: Any) -> datetime | None:
    try:
        day = date.fromisoformat(_text(value))
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""
