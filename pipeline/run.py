"""One cycle through every stage: fetch -> parse -> extract -> dedupe/match -> store -> alert.

Everything a cycle needs is passed in as a ``Pipeline`` (config, store, fetcher, matcher,
channels, clock), so tests hand in local servers, a temporary database and a fixed clock.
A failing feed or page is recorded and the cycle goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import metrics
from .alert import Channel, DeliveryReport, build_channels, claim_owner, deliver, plan_alerts
from .concurrency import run_all
from .config import Config
from .database import data_dir, installation_id
from .dedupe import canonical_url, host_of
from .errors import FetchError, WirewatchError
from .extract import ExtractorPool, build_article
from .feedwatch import record_feed_disabled
from .fetch import PAGE_ACCEPT, Fetcher
from .health import health_after, moved
from .kb.federal_register import FEED_TYPE, parse_federal_register
from .kb.service import load_knowledge
from .match import Annotator, Matcher, RuleSet
from .parse import parse_feed
from .store import FeedState, Store
from .types import Article, Extracted, FeedEntry, FetchResult, Match, ParsedFeed

log = logging.getLogger(__name__)


CRON_LEASE = timedelta(minutes=30)
"""How long a run-once holds the feeds it fetches; released when it ends."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Pipeline:
    config: Config
    store: Store
    fetcher: Fetcher
    matcher: Matcher
    channels: Mapping[str, Channel]
    extractor: ExtractorPool
    clock: Callable[[], datetime] = utcnow
    stop: threading.Event = field(default_factory=threading.Event)
    """Set to end the current cycle early: what was not finished is left for the next."""

    @classmethod
    def build(
        cls,
        config: Config,
        store: Store,
        *,
        fetcher: Fetcher | None = None,
        clock: Callable[[], datetime] = utcnow,
        base_dir: Path | None = None,
    ) -> Pipeline:
        return cls(
            config=config,
            store=store,
            fetcher=fetcher or Fetcher(config.feeds.fetch),
            matcher=compile_rules(config, load_knowledge(store, config)),
            channels=build_channels(
                config.alerts, base_dir or data_dir(), installation_id(store.engine)
            ),
            clock=clock,
            extractor=_extractor(config),
        )

    def close(self) -> None:
        self.fetcher.close()
        self.extractor.close()

    def reconfigure(self, config: Config, base_dir: Path | None = None) -> None:
        """Switch to a new config. Everything is built before anything is replaced, so a
        config that fails to compile leaves the running one untouched."""
        matcher = compile_rules(config, load_knowledge(self.store, config))
        installation = installation_id(self.store.engine)
        channels = build_channels(config.alerts, base_dir or data_dir(), installation)
        if config.feeds.fetch != self.config.feeds.fetch:
            self.fetcher = Fetcher(config.feeds.fetch)
        self.config, self.matcher, self.channels = config, matcher, channels


def _extractor(config: Config) -> ExtractorPool:
    settings = config.feeds.fetch
    return ExtractorPool(
        settings.extract_workers, settings.extract_timeout, settings.extract_memory_mb
    )


def compile_rules(config: Config, annotator: Annotator | None = None) -> RuleSet:
    origin = str(config.directory / "rules.yaml")
    return RuleSet.from_config(config.rules.rules, origin, config.entities.entities, annotator)


@dataclass(frozen=True)
class FeedReport:
    feed: str
    outcome: str
    error: str | None = None
    entries: int = 0
    new: int = 0


@dataclass
class CycleSummary:
    feeds: list[FeedReport] = field(default_factory=list)
    new_articles: int = 0
    duplicates: int = 0
    matches: int = 0
    alerts: int = 0
    entry_errors: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    @property
    def feeds_ok(self) -> int:
        return sum(1 for report in self.feeds if report.outcome in ("ok", "not_modified"))

    @property
    def feeds_failed(self) -> list[FeedReport]:
        return [report for report in self.feeds if report.outcome not in ("ok", "not_modified")]


@dataclass(frozen=True)
class Candidate:
    feed: FeedState
    entry: FeedEntry
    update_of: int | None = None
    """The stored article of an entry updated in place (same GUID, new title or summary)."""


def run_cycle(
    pipeline: Pipeline, feeds: Sequence[FeedState] | None = None, *, owner: str | None = None
) -> CycleSummary:
    """Fetch the given feeds (leased to ``owner``), store what is new, release the
    leases, deliver alerts.

    Without ``feeds``: every enabled configured feed, except those backing off after
    failures (cron decides the cadence; a failing feed is not hammered on every run).
    """
    store = pipeline.store
    if feeds is None:
        now = pipeline.clock()
        configured = [feed.url for feed in pipeline.config.feeds.feeds]
        store.sync_feeds(pipeline.config.feeds.feeds, now)
        owner = claim_owner("run-once")
        feeds = store.claim_feeds(
            owner, now, CRON_LEASE, len(configured) or 1, urls=configured, due_only=False
        )
    elif owner is None:
        raise ValueError("run_cycle: feeds given without the owner of their leases")
    summary = CycleSummary()
    candidates: list[Candidate] = []
    validators: dict[int, FetchResult] = {}
    unfinished: set[int] = set()
    try:
        for state, result, parsed in _fetch_feeds(pipeline, [f for f in feeds if f.enabled]):
            if result.outcome == "stopped" or pipeline.stop.is_set():
                continue  # not recorded: the feed is fetched again next time
            report, fresh = _record_feed(pipeline, state, result, parsed, pipeline.clock())
            metrics.FETCHES.labels(report.outcome).inc()
            summary.feeds.append(report)
            candidates.extend(Candidate(state, entry) for entry in fresh)
            if parsed is not None:
                changed = store.changed_entries(state.id, parsed.entries)
                candidates.extend(Candidate(state, entry, known) for entry, known in changed)
            if result.ok:
                validators[state.id] = result
        unfinished = _process(pipeline, candidates, summary)
        for feed_id, result in validators.items():
            if feed_id not in unfinished:
                store.save_validators(feed_id, result.etag, result.last_modified)
    finally:
        # The leases end only now that the entries are stored; a feed left unfinished
        # by a stop becomes due at once, for whoever polls next.
        store.release_feeds([feed.id for feed in feeds], owner, due_now=sorted(unfinished))
    if not pipeline.stop.is_set():
        summary.delivery = deliver(
            store, pipeline.channels, pipeline.config.alerts.delivery, pipeline.clock,
            stop=pipeline.stop, rules=pipeline.config.rules.rules,
        )  # fmt: skip
    return summary


def _fetch_feeds(
    pipeline: Pipeline, feeds: Sequence[FeedState]
) -> Iterable[tuple[FeedState, FetchResult, ParsedFeed | None]]:
    agents = {feed.url: feed.user_agent for feed in pipeline.config.feeds.feeds}
    kinds = {feed.url: feed.type for feed in pipeline.config.feeds.feeds}

    def fetch_one(state: FeedState) -> tuple[FeedState, FetchResult, ParsedFeed | None]:
        if pipeline.stop.is_set():
            return state, FetchResult(url=state.url, outcome="stopped"), None
        result = pipeline.fetcher.get(
            state.fetch_url or state.url,
            etag=state.etag,
            last_modified=state.last_modified,
            user_agent=agents.get(state.url),
        )
        if not result.ok:
            return state, result, None
        try:
            parser = parse_federal_register if kinds.get(state.url) == FEED_TYPE else parse_feed
            parsed = parser(result.body, content_type=result.content_type, now=pipeline.clock())
        except FetchError as exc:
            return state, _as_failure(result, exc), None
        return state, result, parsed

    results = run_all(fetch_one, feeds, pipeline.config.feeds.fetch.concurrency, pipeline.stop)
    for state, outcome in zip(feeds, results, strict=True):
        yield outcome or (state, FetchResult(url=state.url, outcome="stopped"), None)


def _as_failure(result: FetchResult, exc: FetchError) -> FetchResult:
    return replace(result, outcome=exc.outcome, error=str(exc), body=b"")


def _record_feed(
    pipeline: Pipeline,
    state: FeedState,
    result: FetchResult,
    parsed: ParsedFeed | None,
    now: datetime,
) -> tuple[FeedReport, list[FeedEntry]]:
    store = pipeline.store
    problem = parsed.problem if parsed else None
    fresh = store.unseen_entries(state.id, parsed.entries) if parsed else []
    health = health_after(state, result, now, new_entries=len(fresh))
    store.record_fetch(state.id, result, health, now, problem=problem)
    if health.note:
        log.warning("feed %s: %s", state.label, health.note)
    if health.disabled_reason:
        log.error("feed %s disabled: %s", state.label, health.disabled_reason)
        routes = pipeline.config.alerts.routes
        record_feed_disabled(store, state, health.disabled_reason, routes, now)
    if result.permanent_redirect and moved(result):
        log.warning("feed %s moved permanently to %s", state.label, result.permanent_redirect)
    if parsed is None:
        if result.outcome == "not_modified":
            log.info("feed %s: not modified", state.label)
        else:
            log.warning("feed %s: %s: %s", state.label, result.outcome, result.error)
        return FeedReport(state.label, result.outcome, result.error), []
    if problem:
        log.warning("feed %s: recovered from malformed XML: %s", state.label, problem)
    log.info("feed %s: %d entries, %d new", state.label, len(parsed.entries), len(fresh))
    return FeedReport(state.label, "ok", problem, len(parsed.entries), len(fresh)), fresh


def _process(
    pipeline: Pipeline, candidates: Sequence[Candidate], summary: CycleSummary
) -> set[int]:
    """Link entries whose URL is already stored; fetch, extract and store the rest.

    Returns the ids of feeds with entries left unstored (an error, or a stop): their
    validators are not saved, so the next fetch gets the full feed again.
    """
    unfinished: set[int] = set()
    to_fetch: list[Candidate] = []
    for candidate in candidates:
        link = candidate.entry.link
        if candidate.update_of is not None:
            to_fetch.append(candidate)
            continue
        known = pipeline.store.article_for_url(link) if link else None
        if known is not None:
            pipeline.store.link_entry(candidate.feed.id, candidate.entry, known, pipeline.clock())
            summary.duplicates += 1
        else:
            to_fetch.append(candidate)
    pages = _fetch_pages(pipeline, to_fetch)
    for candidate in to_fetch:
        if pipeline.stop.is_set():
            unfinished.add(candidate.feed.id)
            continue
        page, problem = pages.get(_page_key(candidate), (None, "article has no link"))
        try:
            _store_candidate(pipeline, candidate, page, problem, summary)
        except WirewatchError:
            raise
        except Exception:
            # A bug triggered by one entry must not cost the rest of the cycle; the entry
            # is not marked as seen, so the next cycle tries it again.
            log.exception("entry %s of %s failed", candidate.entry.guid, candidate.feed.label)
            summary.entry_errors += 1
            unfinished.add(candidate.feed.id)
    return unfinished


def _store_candidate(
    pipeline: Pipeline,
    candidate: Candidate,
    page: Extracted | None,
    problem: str | None,
    summary: CycleSummary,
) -> None:
    article = build_article(
        candidate.entry, source=candidate.feed.label, page=page, page_problem=problem
    )
    if article.extraction == "ok" and pipeline.store.shares_boilerplate(article):
        note = f"the page text is shared by other headlines on {host_of(article.url)}"
        log.debug("%s: %s (paywall, consent or bot check?): feed text used", article.url, note)
        article = build_article(
            candidate.entry, source=candidate.feed.label, page=None, page_problem=note
        )
    if not (article.title or article.text):
        log.info("skipping empty entry %s in %s", candidate.entry.guid, candidate.feed.label)
        return
    analysis = pipeline.matcher.analyse(article)
    matches = analysis.matches
    if candidate.update_of is not None:
        _store_update(pipeline, candidate, article, matches, summary)
        return
    saved = pipeline.store.save_article(
        article,
        matches,
        plan_alerts(matches, pipeline.config.alerts.routes),
        pipeline.clock(),
        feed_id=candidate.feed.id,
        entry=candidate.entry,
        entities=analysis.entities,
    )
    if saved is None:
        return
    if saved.duplicate_of is not None:
        summary.duplicates += 1
        return
    summary.new_articles += 1
    summary.matches += len(matches)
    summary.alerts += saved.new_alerts
    metrics.ARTICLES.inc()
    for match in matches:
        metrics.MATCHES.labels(match.rule).inc()


def _store_update(
    pipeline: Pipeline,
    candidate: Candidate,
    article: Article,
    matches: Sequence[Match],
    summary: CycleSummary,
) -> None:
    assert candidate.update_of is not None
    log.info(
        "entry %s of %s was updated: matching again", candidate.entry.guid, candidate.feed.label
    )
    saved = pipeline.store.update_article(
        candidate.update_of,
        candidate.entry,
        candidate.feed.id,
        article,
        matches,
        plan_alerts(matches, pipeline.config.alerts.routes),
        pipeline.clock(),
    )
    summary.alerts += saved.new_alerts


def _page_key(candidate: Candidate) -> str | None:
    return canonical_url(candidate.entry.link) if candidate.entry.link else None


def _fetch_pages(
    pipeline: Pipeline, candidates: Sequence[Candidate]
) -> dict[str | None, tuple[Extracted | None, str | None]]:
    """Fetch and extract each distinct article URL once, concurrently."""
    settings = pipeline.config.feeds.fetch
    links = {_page_key(c): c.entry.link for c in candidates if c.entry.link}
    if not settings.fetch_pages:
        return dict.fromkeys(links, (None, "page fetching is off (fetch.fetch_pages)"))

    def fetch_and_extract_unless_stopped(
        item: tuple[str | None, str],
    ) -> tuple[str | None, tuple[Extracted | None, str | None]]:
        if pipeline.stop.is_set():
            return item[0], (None, "stopped")
        return fetch_and_extract(item)

    def fetch_and_extract(
        item: tuple[str | None, str],
    ) -> tuple[str | None, tuple[Extracted | None, str | None]]:
        key, url = item
        result = pipeline.fetcher.get(url, accept=PAGE_ACCEPT)
        if not result.ok:
            return key, (None, f"page {result.outcome}: {result.error}")
        kind = (result.content_type or "text/html").split(";")[0].strip().lower()
        if "html" not in kind and "xml" not in kind:
            return key, (None, f"page is {kind}, not HTML")
        page_url = result.final_url or url
        with metrics.EXTRACTIONS.time():
            return key, pipeline.extractor.extract(result.body, page_url, settings.max_html_bytes)

    items = list(links.items())
    results = run_all(fetch_and_extract_unless_stopped, items, settings.concurrency, pipeline.stop)
    return dict(result for result in results if result is not None)
