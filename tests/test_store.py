"""Storage on real SQLite and PostgreSQL: migrations, dedupe keys and the outbox."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from pipeline.config import FeedConfig
from pipeline.store import (
    PlannedAlert,
    Store,
    make_engine,
    migrate,
    normalise_database_url,
    open_database,
)
from pipeline.types import Article, FeedEntry, Match
from tests.conftest import ROOT

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
BODY = " ".join(f"word{i}" for i in range(80))


def alembic(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_alembic_upgrade_check_downgrade(db_url: str) -> None:
    upgraded = alembic(db_url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert {"feeds", "entries", "articles", "stories", "matches", "alerts"} <= set(
        inspect(make_engine(db_url)).get_table_names()
    )
    checked = alembic(db_url, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    downgraded = alembic(db_url, "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert set(inspect(make_engine(db_url)).get_table_names()) <= {"alembic_version"}


@pytest.fixture
def store(db_url: str) -> Store:
    engine = make_engine(db_url)
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def art(url: str, title: str = "Title", text: str = BODY) -> Article:
    return Article(url=url, title=title, text=text, source="Wire")


def test_same_url_with_tracking_junk_is_one_article(store: Store) -> None:
    first = store.save_article(art("https://x.example/a?id=1"), [], [], NOW)
    again = store.save_article(
        art("https://X.example/a?utm_source=rss&id=1#top", text=BODY + " more"), [], [], NOW
    )
    assert first.duplicate_of is None and again.duplicate_of == first.article_id
    assert store.counts()["articles"] == 1


def test_identical_text_under_another_url_is_one_article(store: Store) -> None:
    """The same text counts as the same article only under the same headline (issue 13:
    a paywall page shares its text across headlines); another headline joins the story."""
    first = store.save_article(art("https://one.example/a", title="Headline A"), [], [], NOW)
    copy = store.save_article(art("https://two.example/b", title="Headline A"), [], [], NOW)
    retitled = store.save_article(art("https://two.example/d", title="Headline B"), [], [], NOW)
    other = store.save_article(art("https://two.example/c", text=BODY + " different"), [], [], NOW)
    assert copy.duplicate_of == first.article_id and copy.story_id == first.story_id
    assert retitled.duplicate_of is None and retitled.story_id == first.story_id
    assert other.duplicate_of is None


def test_article_matches_and_alerts_are_written_together(store: Store) -> None:
    match = Match(rule="r", score=3.0, terms=("chips",), highlights=("**chips**",))
    saved = store.save_article(
        art("https://x.example/m"),
        [match],
        [PlannedAlert("r", "c1", "route"), PlannedAlert("r", "c2", "route")],
        NOW,
    )
    assert saved.new_alerts == 2
    [view] = store.recent_matches(NOW - timedelta(hours=1))
    assert (view.rule, view.score, view.terms, view.highlights) == (
        "r",
        3.0,
        ("chips",),
        ("**chips**",),
    )
    due = store.claim_alerts("test", NOW, LEASE)
    assert [(a.channel, a.message.rule, a.message.highlights) for a in due] == [
        ("c1", "r", ("**chips**",)),
        ("c2", "r", ("**chips**",)),
    ]


def test_feed_entries_are_stored_once(store: Store) -> None:
    [feed] = store.sync_feeds([FeedConfig(url="https://x.example/feed", name="X")], NOW)
    entry = FeedEntry(guid="g1", link="https://x.example/e", title="T", summary="S")
    assert store.unseen_entries(feed.id, [entry]) == [entry]
    store.save_article(art("https://x.example/e"), [], [], NOW, feed_id=feed.id, entry=entry)
    assert store.unseen_entries(feed.id, [entry]) == []
    assert (
        store.save_article(art("https://x.example/e"), [], [], NOW, feed_id=feed.id, entry=entry)
        is None
    )


def test_outbox_retry_and_dead(store: Store) -> None:
    store.save_article(
        art("https://x.example/o"),
        [Match("r", 1.0, ("t",))],
        [PlannedAlert("r", "c", "route")],
        NOW,
    )
    [pending] = store.claim_alerts("test", NOW, LEASE)
    store.mark_failed(pending.id, "smtp down", retry_at=NOW + timedelta(minutes=5), owner="test")
    assert store.claim_alerts("test", NOW, LEASE) == []
    [again] = store.claim_alerts("test", NOW + timedelta(minutes=5), LEASE)
    assert again.attempts == 1
    store.mark_failed(again.id, "550 no such user", retry_at=None, owner="test")
    [dead] = store.alerts("dead")
    assert dead.attempts == 2 and dead.last_error == "550 no such user"


def test_postgres_url_forms_are_accepted() -> None:
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.postgres
def test_unmigrated_postgres_is_refused_with_a_clear_message(pg_url: str) -> None:
    from pipeline.errors import DatabaseError

    with pytest.raises(DatabaseError, match="run `wirewatch migrate`"):
        open_database(pg_url)


def test_entries_without_links_are_told_apart_by_text(store: Store) -> None:
    first = store.save_article(art("", title="Potato harvest", text="Potatoes."), [], [], NOW)
    second = store.save_article(art("", title="Zebra news", text="Zebras."), [], [], NOW)
    again = store.save_article(art("", title="Zebra news", text="Zebras."), [], [], NOW)
    assert first.duplicate_of is None and second.duplicate_of is None
    assert again.duplicate_of == second.article_id


def test_workers_starting_together_register_feeds_once(db_url: str) -> None:
    """Several workers sync the same feed list at the same moment on startup."""
    import threading

    engine = make_engine(db_url)
    migrate(engine)
    feeds = [FeedConfig(url=f"https://x.example/{n}.xml") for n in range(200)]
    barrier = threading.Barrier(4)
    errors = []

    def start() -> None:
        barrier.wait()
        try:
            Store(engine).sync_feeds(feeds, NOW)
        except Exception as exc:  # the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Store(engine).counts()["feeds"] == 200
    engine.dispose()
