"""Feed bytes -> entries. Pure: no I/O; feedparser only ever sees bytes, never a URL."""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import UTC, datetime, timedelta

import feedparser
import lxml.html
from lxml.etree import ParserError

from .errors import FetchError
from .types import FeedEntry, ParsedFeed

_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")
FUTURE_TOLERANCE = timedelta(hours=1)


def parse_feed(body: bytes, *, content_type: str | None = None, now: datetime) -> ParsedFeed:
    """Parse an RSS/Atom document. Raises ``FetchError`` when the body is not a usable feed.

    A malformed feed from which feedparser still recovered entries is accepted, and the
    problem is kept in ``ParsedFeed.problem``.
    """
    if not body.strip():
        raise FetchError("not_a_feed", "empty response, not a feed")
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    problem = _bozo_message(parsed) if parsed.get("bozo") else None
    if not parsed.entries:
        if not parsed.get("version"):
            raise FetchError("not_a_feed", _not_a_feed_message(body, content_type, problem))
        if problem:
            raise FetchError("parse_error", f"malformed feed: {problem}")
    entries = tuple(_entry(raw, now) for raw in parsed.entries)
    title = html_to_text(parsed.feed.get("title", "")) or None
    return ParsedFeed(entries=_unique_guids(entries), title=title, problem=problem)


def _entry(raw: feedparser.FeedParserDict, now: datetime) -> FeedEntry:
    title = html_to_text(raw.get("title", ""))
    link = (raw.get("link") or "").strip() or None
    content = raw.get("content") or []
    body = content[0].get("value", "") if content else raw.get("summary", "")
    guid = (raw.get("id") or "").strip() or derive_guid(link, title)
    return FeedEntry(
        guid=guid,
        link=link,
        title=title,
        summary=html_to_text(body),
        published=_published(raw, now),
        author=(raw.get("author") or "").strip() or None,
    )


def derive_guid(link: str | None, title: str) -> str:
    """A stable id for entries that carry none: the same link and title give the same id."""
    digest = hashlib.sha256(f"{link or ''}\n{title}".encode()).hexdigest()[:32]
    return f"derived:{digest}"


def _unique_guids(entries: tuple[FeedEntry, ...]) -> tuple[FeedEntry, ...]:
    """Keep the first entry of each GUID: some feeds repeat an id within one document."""
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.guid not in seen:
            seen.add(entry.guid)
            unique.append(entry)
    return tuple(unique)


def _published(raw: feedparser.FeedParserDict, now: datetime) -> datetime | None:
    struct = raw.get("published_parsed") or raw.get("updated_parsed")
    if not struct:
        return None
    try:
        when = datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return min(when, now) if when > now + FUTURE_TOLERANCE else when


def _bozo_message(parsed: feedparser.FeedParserDict) -> str:
    exc = parsed.get("bozo_exception")
    text = str(exc).strip() if exc else "malformed document"
    return text.splitlines()[0][:200] if text else "malformed document"


def _not_a_feed_message(body: bytes, content_type: str | None, problem: str | None) -> str:
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        kind = "an HTML page"
    elif head.startswith((b"{", b"[")):
        kind = "JSON"
    else:
        kind = f"content of type {content_type or 'unknown'}"
    detail = f" ({problem})" if problem and kind.startswith("content") else ""
    return f"not an RSS/Atom feed: got {kind}{detail}"


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, paragraphs kept as blank-line-separated blocks."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return _tidy(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError):
        return _tidy(re.sub(r"<[^>]+>", " ", fragment))
    for block in root.iter("p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr"):
        block.tail = "\n\n" + (block.tail or "")
    return _tidy(root.text_content())


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
