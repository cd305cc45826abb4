"""One cycle: each feed through every stage (fetch -> parse -> extract -> dedupe/match ->
store -> alert) as soon as that feed has answered.

Everything a cycle needs is passed in as a ``Pipeline`` (``assembly.py``: config, store,
fetcher, matcher, channels, clock), so tests hand in local servers, a temporary database
and a fixed clock. A failing feed or page is recorded and the cycle goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from . import metrics
from .alert import DeliveryReport, claim_owner, deliver, plan_alerts
from .alert_times import record_first_seen
from .assembly import Pipeline
from .concurrency import run_all
from .dedupe import canonical_url, host_of
from .errors import FetchError, WirewatchError
from .extract import build_article
from .feedwatch import record_feed_disabled
from .health import health_after, moved
from .kb.federal_register import FEED_TYPE, parse_federal_register
from .pages import fetch_pages
from .parse import parse_feed
from .store import FeedState
from .types import Article, Extracted, FeedEntry, FetchResult, Match, ParsedFeed
from .updates import plan_updates

log = logging.getLogger(__name__)


CRON_LEASE = timedelta(minutes=30)
"""How long a run-once holds the feeds it fetches; released when it ends."""


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
    updates: int = 0
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
    seen_at: datetime
    """When the feed answered with this entry."""
    update_of: int | None = None
    """The stored article of an entry updated in place (same GUID, new title or summary)."""


def run_cycle(
    pipeline: Pipeline, feeds: Sequence[FeedState] | None = None, *, owner: str | None = None
) -> CycleSummary:
    """Fetch the given feeds (leased to ``owner``), store what is new, release the
    leases, deliver alerts.

    Each feed goes through every stage on its own as soon as it has answered
    (``process_feed``): a slow feed delays nobody else's alerts.

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
    concurrency = pipeline.config.feeds.fetch.concurrency
    cycle = Cycle(pipeline, CycleSummary())
    try:
        enabled = [feed for feed in feeds if feed.enabled]
        # On a stop, a feed already under way finishes what it is doing (a send in
        # progress, an article being stored) before its lease is released below.
        run_all(
            lambda state: process_feed(cycle, state), enabled, concurrency, pipeline.stop,
            finish_started=True,
        )  # fmt: skip
    finally:
        # The leases end only now that the entries are stored; a feed left unfinished
        # by a stop becomes due at once, for whoever polls next.
        store.release_feeds([feed.id for feed in feeds], owner, due_now=sorted(cycle.unfinished))
    if not pipeline.stop.is_set() and not cycle.delivered:
        cycle.deliver()  # what is due from earlier runs (retries), when no feed delivered
    return cycle.summary


@dataclass
class Cycle:
    """What the feeds of one cycle share while each goes through the stages on a thread of
    its own: the summary, and a lock that keeps writes to one at a time (SQLite has one
    writer; it costs PostgreSQL little, as fetching and extraction happen outside it)."""

    pipeline: Pipeline
    summary: CycleSummary
    storing: threading.Lock = field(default_factory=threading.Lock)
    delivered: bool = False
    unfinished: set[int] = field(default_factory=set)
    """Feeds with entries left unstored (an error, or a stop): due again at once."""

    def deliver(self) -> None:
        """Send the due alerts now (instant alerts as soon as they are stored)."""
        pipeline = self.pipeline
        self.delivered = True
        report = deliver(pipeline.store, pipeline.channels, pipeline.config.alerts.delivery,
                         pipeline.clock, stop=pipeline.stop,
                         rules=pipeline.config.rules.rules)  # fmt: skip
        with self.storing:
            total = self.summary.delivery
            total.sent += report.sent
            total.retrying += report.retrying
            total.dead += report.dead
            total.lost += report.lost
            total.errors.extend(report.errors)


def process_feed(cycle: Cycle, state: FeedState) -> None:
    """One feed through every stage: fetch and parse it, record the outcome, fetch and
    extract its new entries' pages, store, match, queue alerts and updates, deliver."""
    pipeline, store = cycle.pipeline, cycle.pipeline.store
    state, result, parsed = _fetch_feed(pipeline, state)
    if result.outcome == "stopped" or pipeline.stop.is_set():
        return  # not recorded: the feed is fetched again next time
    seen_at = pipeline.clock()
    with cycle.storing:
        report, fresh = _record_feed(pipeline, state, result, parsed, seen_at)
        metrics.FETCHES.labels(report.outcome).inc()
        cycle.summary.feeds.append(report)
        candidates = [Candidate(state, entry, seen_at) for entry in fresh]
        if parsed is not None:
            changed = store.changed_entries(state.id, parsed.entries)
            candidates.extend(Candidate(state, entry, seen_at, known) for entry, known in changed)
    unfinished, queued = _process(cycle, candidates)
    if unfinished:
        with cycle.storing:
            cycle.unfinished.update(unfinished)
    elif result.ok:
        store.save_validators(state.id, result.etag, result.last_modified)
    if queued and not pipeline.stop.is_set():
        cycle.deliver()


def _fetch_feed(
    pipeline: Pipeline, state: FeedState
) -> tuple[FeedState, FetchResult, ParsedFeed | None]:
    if pipeline.stop.is_set():
        return state, FetchResult(url=state.url, outcome="stopped"), None
    agents = {feed.url: feed.user_agent for feed in pipeline.config.feeds.feeds}
    kinds = {feed.url: feed.type for feed in pipeline.config.feeds.feeds}
    with pipeline.fetch_slots:
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


def _process(cycle: Cycle, candidates: Sequence[Candidate]) -> tuple[set[int], int]:
    """Link entries whose URL is already stored; fetch, extract and store the rest.

    Returns the ids of feeds with entries left unstored (an error, or a stop): their
    validators are not saved, so the next fetch gets the full feed again; and how many
    alerts and updates were queued.
    """
    pipeline, summary = cycle.pipeline, cycle.summary
    unfinished: set[int] = set()
    queued = 0
    to_fetch: list[Candidate] = []
    for candidate in candidates:
        link = candidate.entry.link
        if candidate.update_of is not None:
            to_fetch.append(candidate)
            continue
        known = pipeline.store.article_for_url(link) if link else None
        if known is not None:
            with cycle.storing:
                pipeline.store.link_entry(
                    candidate.feed.id, candidate.entry, known, pipeline.clock()
                )
                summary.duplicates += 1
        else:
            to_fetch.append(candidate)
    links = {_page_key(c): c.entry.link for c in to_fetch if c.entry.link}
    pages = fetch_pages(cycle.pipeline, links)
    for candidate in to_fetch:
        if pipeline.stop.is_set():
            unfinished.add(candidate.feed.id)
            continue
        page, problem = pages.get(_page_key(candidate), (None, "article has no link"))
        try:
            queued += _store_candidate(cycle, candidate, page, problem)
        except WirewatchError:
            raise
        except Exception:
            # A bug triggered by one entry must not cost the rest of the cycle; the entry
            # is not marked as seen, so the next cycle tries it again.
            log.exception("entry %s of %s failed", candidate.entry.guid, candidate.feed.label)
            with cycle.storing:
                summary.entry_errors += 1
            unfinished.add(candidate.feed.id)
    return unfinished, queued


def _store_candidate(
    cycle: Cycle, candidate: Candidate, page: Extracted | None, problem: str | None
) -> int:
    """Store one entry's article with its matches and alerts; queue updates of the story
    it joins. Returns how many alerts and updates it queued."""
    pipeline, summary = cycle.pipeline, cycle.summary
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
        return 0
    analysis = pipeline.matcher.analyse(article)
    matches = analysis.matches
    if candidate.update_of is not None:
        with cycle.storing:
            return _store_update(pipeline, candidate, article, matches, summary)
    with cycle.storing:
        now = pipeline.clock()
        saved = pipeline.store.save_article(
            article,
            matches,
            plan_alerts(matches, pipeline.config.alerts.routes),
            now,
            feed_id=candidate.feed.id,
            entry=candidate.entry,
            entities=analysis.entities,
        )
        if saved is None:
            return 0
        if saved.duplicate_of is not None:
            summary.duplicates += 1
            return 0
        record_first_seen(pipeline.store, saved.article_id, candidate.seen_at)
        updates = plan_updates(
            pipeline.store, pipeline.config.alerts.routes, saved, now,
            pipeline.config.settings.updates.window,
        )  # fmt: skip
        summary.new_articles += 1
        summary.matches += len(matches)
        summary.alerts += saved.new_alerts
        summary.updates += updates
    metrics.ARTICLES.inc()
    for match in matches:
        metrics.MATCHES.labels(match.rule).inc()
    return saved.new_alerts + updates


def _store_update(
    pipeline: Pipeline,
    candidate: Candidate,
    article: Article,
    matches: Sequence[Match],
    summary: CycleSummary,
) -> int:
    """Match an entry updated in place again; returns how many alerts it queued."""
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
    return saved.new_alerts


def _page_key(candidate: Candidate) -> str | None:
    return canonical_url(candidate.entry.link) if candidate.entry.link else None
