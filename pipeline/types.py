"""Plain, frozen data passed between the stages. No ORM objects cross a stage boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, as parsed from the feed document."""

    guid: str
    link: str | None
    title: str
    summary: str
    published: datetime | None = None
    author: str | None = None
    doctype: str | None = None
    """A primary source's document type (``rule``, ``proposed_rule``, ``notice``…)."""
    preface: str = ""
    """Facts kept above the text even when the page is extracted (citation, dates)."""


@dataclass(frozen=True)
class FetchResult:
    """What one HTTP fetch gave. ``outcome`` is one of ``pipeline.fetch.OUTCOMES``."""

    url: str
    outcome: str
    status: int | None = None
    body: bytes = b""
    final_url: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry_after: float | None = None
    """Seconds the server asked us to wait (429/503 ``Retry-After``)."""
    permanent_redirect: str | None = None
    """Where the URL moved when every redirect on the way was permanent (301/308)."""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[FeedEntry, ...]
    title: str | None = None
    problem: str | None = None
    """Set when feedparser recovered from malformed XML ("bozo") but kept entries."""


@dataclass(frozen=True)
class Extracted:
    """What article extraction found in an HTML page."""

    text: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Article:
    """An article ready for dedupe and matching: the page text, or the feed's own text."""

    url: str
    title: str
    text: str
    source: str
    canonical_url: str = ""
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    extraction: str = "ok"
    """``ok`` (page extracted), ``fallback`` (feed content used) or ``empty``."""
    extraction_note: str | None = None
    doctype: str | None = None
    """``rule``, ``proposed_rule``, ``notice``, ``presidential_document`` (Federal Register)."""


@dataclass(frozen=True)
class Match:
    """One rule that an article satisfied, with the evidence."""

    rule: str
    score: float
    terms: tuple[str, ...]
    highlights: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutletLink:
    """Another outlet that carried the story, and where."""

    outlet: str
    url: str


@dataclass(frozen=True)
class FiredRule:
    """One of the rules an alert names: several that fire together share one message."""

    rule: str
    score: float
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertMessage:
    """Everything a channel needs to render one alert; channels never touch the database."""

    key: str
    rule: str
    title: str
    url: str
    source: str
    score: float
    published: datetime | None
    highlights: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    outlets: tuple[str, ...] = field(default=())
    tags: tuple[str, ...] = ()
    description: str = ""
    """The rule's ``description`` from rules.yaml."""
    entities: tuple[str, ...] = ()
    """Entities of entities.yaml found in the article."""
    outlet_links: tuple[OutletLink, ...] = ()
    """The other outlets that carried the story, each with its link."""
    story_id: int | None = None
    fired: tuple[FiredRule, ...] = ()
    """Every rule this message names (one message per story and channel); ``rule``,
    ``score`` and ``description`` are those of the best-scoring one."""


@dataclass(frozen=True)
class DigestStory:
    """One story in a digest, once, with every rule it matched."""

    title: str
    url: str
    source: str
    published: datetime | None
    rules: tuple[str, ...]
    score: float
    highlights: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True)
class DigestMessage:
    key: str
    """Stable per (route, channel, schedule time): a receiver can drop a repeat."""
    route: str
    scheduled_for: datetime
    timezone: str
    stories: tuple[DigestStory, ...]


@dataclass(frozen=True)
class UpdateMessage:
    """An update to a story that already alerted: the sentences that bring new facts."""

    key: str
    """Stable per update: a receiver can drop a repeat."""
    original_key: str
    """The key of the story's first alert on this channel (email threads on it)."""
    rule: str
    story_title: str
    original_url: str
    title: str
    url: str
    source: str
    published: datetime | None
    new_facts: tuple[str, ...]
    """The new sentences, in order."""
    marked: tuple[tuple[str, ...], ...] = ()
    """Per sentence, the new facts in it as written (to highlight them)."""
    sources: tuple[str, ...] = ()
    """Every outlet whose article went into this update."""
    thread_ref: str | None = None
    """The receiver's id of the first alert's message (Slack ``ts``), when known."""
