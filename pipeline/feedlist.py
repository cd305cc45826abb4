"""Managing the feed list: OPML in and out, feed discovery in HTML, and edits of
feeds.yaml that keep its comments and layout (ruamel.yaml round trip)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin
from xml.sax.saxutils import quoteattr

import lxml.etree
import lxml.html
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .config import FeedConfig
from .errors import ConfigError

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/rdf+xml", "application/xml", "text/xml"}  # fmt: skip


@dataclass(frozen=True)
class FeedItem:
    url: str
    name: str | None = None


def parse_opml(data: bytes, origin: str = "OPML") -> list[FeedItem]:
    """Every outline with an ``xmlUrl``, at any depth (folders are flattened)."""
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise ConfigError(f"{origin}: not valid OPML: {exc}") from None
    items = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            name = outline.get("title") or outline.get("text")
            items.append(FeedItem(url, name.strip() if name else None))
    return items


def to_opml(feeds: Iterable[FeedConfig], title: str = "wirewatch feeds") -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        label = quoteattr(feed.name or feed.url)
        lines.append(
            f'    <outline type="rss" text={label} title={label} xmlUrl={quoteattr(feed.url)}/>'
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def discover_feeds(html: bytes, base_url: str) -> list[str]:
    """Feed URLs a page announces with ``<link rel="alternate" type="application/rss+xml">``."""
    try:
        root = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return []
    found = []
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = link.get("href")
        if "alternate" in rel and kind in FEED_TYPES and href:
            found.append(urljoin(base_url, href.strip()))
    return list(dict.fromkeys(found))


class FeedsYaml:
    """feeds.yaml, edited in place: comments, order and the ``fetch:`` block survive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._yaml = YAML()
        self._yaml.indent(mapping=2, sequence=4, offset=2)
        self._yaml.width = 4096

    def add(self, items: Sequence[FeedItem], interval: str | None = None) -> list[FeedItem]:
        """Append the feeds not listed yet; returns those added."""
        document, feeds = self._load()
        known = {str(entry.get("url")) for entry in feeds if isinstance(entry, dict)}
        added = []
        for item in items:
            if item.url in known:
                continue
            entry = CommentedMap()
            if item.name:
                entry["name"] = item.name
            entry["url"] = item.url
            if interval:
                entry["interval"] = interval
            feeds.append(entry)
            known.add(item.url)
            added.append(item)
        if added:
            self._save(document)
        return added

    def remove(self, key: str) -> FeedItem | None:
        """Remove the feed with this URL or name; returns it, or None if not listed."""
        document, feeds = self._load()
        for index, entry in enumerate(feeds):
            if isinstance(entry, dict) and key in (entry.get("url"), entry.get("name")):
                del feeds[index]
                self._save(document)
                return FeedItem(str(entry.get("url")), entry.get("name"))
        return None

    def _load(self) -> tuple[CommentedMap, CommentedSeq]:
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        document = self._yaml.load(text) or CommentedMap()
        if isinstance(document, list):
            document = CommentedMap(feeds=document)
        if document.get("feeds") is None:
            document["feeds"] = CommentedSeq()
        return document, document["feeds"]

    def _save(self, document: CommentedMap) -> None:
        temporary = self.path.with_suffix(".yaml.tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            self._yaml.dump(document, handle)
        temporary.replace(self.path)
