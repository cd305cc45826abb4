"""Leases on feeds, serialised story saves, and an extraction pool that always answers
(issue 12, findings 4-6 and 8)."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.extract import ExtractorPool
from pipeline.fetch import FetchResult
from pipeline.health import after_fetch
from pipeline.store import STALE_HEARTBEAT, Store
from pipeline.types import Article, Match
from tests.extract_helpers import hang_on_request

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def store(migrated_store: Store) -> Store:
    return migrated_store


def one_feed(store: Store):
    from pipeline.config import FeedConfig

    [state] = store.sync_feeds([FeedConfig(url="https://feeds.example/a.xml")], NOW)
    return state


# --------------------------------------------------------------------------- finding 6


def test_feed_lease_is_held_until_its_entries_are_stored(store: Store) -> None:
    feed = one_feed(store)
    urls = [feed.url]
    [claimed] = store.claim_feeds("a", NOW, LEASE, 10, urls=urls)
    result = FetchResult(url=feed.url, outcome="ok", status=200)
    health = after_fetch("ok", None, failures_before=0, interval=feed.interval, now=NOW)
    store.record_fetch(claimed.id, result, health, NOW)
    [state] = store.feed_states()
    assert state.lease_owner == "a" and state.leased(NOW), "the fetch answered; storing goes on"
    assert store.claim_feeds("b", NOW, LEASE, 10, urls=urls, due_only=False) == []
    assert store.release_feeds([claimed.id], "b") == set(), "only the owner releases"
    assert store.feed_states()[0].lease_owner == "a"

    # "a" is killed before storing the entries: once its lease runs out the feed is
    # taken over, although its next regular check is 15 minutes away.
    assert state.next_check_at > NOW + LEASE
    assert store.claim_feeds("b", NOW + LEASE / 2, LEASE, 10, urls=urls) == []
    [taken] = store.claim_feeds("b", NOW + LEASE + timedelta(seconds=1), LEASE, 10, urls=urls)
    assert taken.id == claimed.id
    assert store.renew_feed_leases([claimed.id], "a", NOW + LEASE * 3) == set()
    assert store.release_feeds([claimed.id], "b") == {claimed.id}
    assert not store.feed_states()[0].leased(NOW)
    assert store.claim_feeds("c", NOW + LEASE * 2, LEASE, 10, urls=urls) == [], "not due"


def test_a_stopped_cycle_leaves_its_unfinished_feeds_due(store: Store) -> None:
    feed = one_feed(store)
    [claimed] = store.claim_feeds("a", NOW, LEASE, 10, urls=[feed.url])
    result = FetchResult(url=feed.url, outcome="ok", status=200)
    health = after_fetch("ok", None, failures_before=0, interval=feed.interval, now=NOW)
    store.record_fetch(claimed.id, result, health, NOW)
    store.release_feeds([claimed.id], "a", due_now=[claimed.id])
    assert [f.id for f in store.claim_feeds("b", NOW, LEASE, 10, urls=[feed.url])] == [feed.id]


# --------------------------------------------------------------------------- finding 4


def copy_of_one_story(number: int) -> Article:
    words = " ".join(f"word{i}" for i in range(80))
    return Article(
        url=f"https://outlet{number}.example/story",
        title="Commerce adds firms to the Entity List",
        text=f"{words} extra{number}",
        source=f"Outlet {number}",
    )


def test_two_copies_of_one_story_saved_at_once_make_one_story(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads (or workers) store two copies of one story at the same moment. The
    look-up is held open until both have done it, if they can: before the fix both
    found nothing, started two stories and alerted twice."""
    both_looked = threading.Barrier(2)
    look_up = Store._most_similar

    def slow_look_up(self, session, print_, now):
        found = look_up(self, session, print_, now)
        # When saves are serialised the other one waits for this one: the wait breaks.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_looked.wait(timeout=3)
        return found

    monkeypatch.setattr(Store, "_most_similar", slow_look_up)
    from pipeline.store import PlannedAlert

    saved = []

    def save(number: int) -> None:
        saved.append(
            store.save_article(
                copy_of_one_story(number),
                [Match("entity-list", 2.0, ("t",))],
                [PlannedAlert("entity-list", "desk", "all")],
                NOW,
            )
        )

    threads = [threading.Thread(target=save, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(saved) == 2 and len({s.article_id for s in saved}) == 2, "both copies stored"
    assert len({s.story_id for s in saved}) == 1, "one story"
    assert sum(s.new_alerts for s in saved) == 1, "one alert"
    assert store.counts()["stories"] == 1 and store.counts()["alerts"] == 1


# --------------------------------------------------------------------------- finding 5


def test_extraction_pool_answers_every_page_through_timeouts_and_crashes() -> None:
    """More pages than workers, some hanging past the time limit and some killing their
    process: every caller gets an answer, and the pool goes on working. Before the fix
    callers waiting for an idle worker were never woken and the run never ended."""
    pool = ExtractorPool(workers=2, timeout=1.5, memory_mb=512, function=hang_on_request)
    pages = [b"hang", b"crash", b"hang", b"crash", b"<p>a</p>", b"hang", b"crash", b"<p>b</p>"]
    answers: dict[int, tuple] = {}

    def extract(index: int) -> None:
        answers[index] = pool.extract(pages[index], f"https://x.example/{index}", 1000)

    threads = [threading.Thread(target=extract, args=(i,), daemon=True) for i in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(answers) == len(pages), "a caller was left waiting: the pool deadlocked"
        for index, html in enumerate(pages):
            page, problem = answers[index]
            if html == b"hang":
                assert page is None and "longer than 1.5s" in problem
            elif html == b"crash":
                assert page is None and "died" in problem
            else:
                assert page is not None and problem is None
        page, problem = pool.extract(b"<p>c</p>", "https://x.example/c", 1000)
        assert page is not None and page.text == "text of https://x.example/c"
    finally:
        pool.close()


# --------------------------------------------------------------------------- finding 8


def test_status_shows_heartbeat_age_and_marks_stale_workers(store: Store) -> None:
    store.register_worker("alive", NOW)
    store.register_worker("killed", NOW - STALE_HEARTBEAT * 3)
    store.register_worker("stopped", NOW - STALE_HEARTBEAT * 3)
    store.unregister_worker("stopped", NOW - STALE_HEARTBEAT * 2)
    workers = {w["worker"]: w for w in store.status(NOW + timedelta(seconds=5))["workers"]}
    assert workers["alive"]["heartbeat_age_seconds"] == 5.0 and not workers["alive"]["stale"]
    assert workers["killed"]["stale"], "silent and never stopped: presumed dead"
    assert not workers["stopped"]["stale"]
