"""No source goes quiet without saying so: moves, status --check, the ops:feed-disabled
alert, metrics; and the files and secrets of the database (real SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pipeline.config import FeedConfig
from pipeline.database import installation_id, make_engine, open_database
from pipeline.errors import DatabaseError
from pipeline.feedwatch import feed_status
from pipeline.health import health_after
from pipeline.metrics import REGISTRY, refresh_from_status
from pipeline.store import Store
from pipeline.types import FetchResult
from tests.conftest import Cli, LocalServer, write_config

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def _store(db_url: str) -> tuple[Store, int]:
    store = Store(open_database(db_url, auto_migrate=True))
    feed = store.sync_feeds([FeedConfig(url="https://old.example/feed")], NOW)[0]
    return store, feed.id


def _record(store: Store, feed_id: int, result: FetchResult) -> None:
    state = next(f for f in store.feed_states() if f.id == feed_id)
    store.record_fetch(feed_id, result, health_after(state, result, NOW), NOW)


def test_a_move_sticks_only_when_the_new_address_answers(db_url: str) -> None:
    store, feed_id = _store(db_url)
    moved_to = "https://new.example/feed"
    _record(
        store,
        feed_id,
        FetchResult(url="x", outcome="not_found", status=404, permanent_redirect=moved_to),
    )
    assert store.feed_states()[0].fetch_url is None
    _record(store, feed_id, FetchResult(url="x", outcome="ok", permanent_redirect=moved_to))
    assert store.feed_states()[0].fetch_url == moved_to
    store.enable_feed("https://old.example/feed", NOW)
    assert store.feed_states()[0].fetch_url is None


def test_installation_id_is_made_at_migrate_and_kept(db_url: str) -> None:
    engine = open_database(db_url, auto_migrate=True)
    first = installation_id(engine)
    open_database(db_url, auto_migrate=True)
    assert len(first) == 32 and installation_id(engine) == first


def test_feed_problems_reach_status_and_metrics(db_url: str) -> None:
    store, feed_id = _store(db_url)
    _record(store, feed_id, FetchResult(url="x", outcome="timeout", error="timed out"))
    figures = feed_status(store, NOW)
    assert figures["feed_problems"] == [
        {"feed": "https://old.example/feed", "state": "failing", "detail": figures[
            "feed_problems"][0]["detail"]}
    ]  # fmt: skip
    refresh_from_status(figures)
    sample = REGISTRY.get_sample_value(
        "wirewatch_feed_problem", {"feed": "https://old.example/feed", "state": "failing"}
    )
    assert sample == 1
    _record(store, feed_id, FetchResult(url="x", outcome="ok"))
    later = feed_status(store, NOW + timedelta(days=2))
    assert [p["state"] for p in later["feed_problems"]] == ["stale"]
    assert later["feeds_stale"] == 1


def _alerts_config(config: Path, http_server: LocalServer) -> None:
    write_config(config, feeds=[{"url": http_server.url("/gone"), "name": "Gone feed"}])
    (config / "alerts.yaml").write_text(
        yaml.safe_dump(
            {
                "channels": {
                    "ops": {"type": "file", "path": "ops.jsonl"},
                    "news": {"type": "file", "path": "news.jsonl"},
                },
                "routes": [
                    {"name": "ops", "rules": ["ops:feed-disabled"], "channels": ["ops"]},
                    {"name": "news", "tags": ["export-controls"], "channels": ["news"]},
                ],
            }
        )
    )


def test_a_disabled_feed_alerts_once_and_fails_status_check(
    cli: Cli, http_server: LocalServer
) -> None:
    http_server.add("/gone", "gone", status=410)
    config = Path(cli.env["WIREWATCH_CONFIG"])
    _alerts_config(config, http_server)
    assert cli("migrate").returncode == 0  # status reads only: it never creates the database
    healthy = cli("status", "--check")
    assert healthy.returncode == 0, healthy.stderr
    assert cli("run-once").returncode == 0
    assert cli("run-once").returncode == 0  # disabled: not fetched, no second alert
    data = Path(cli.env["WIREWATCH_DATA_DIR"])
    sent = [json.loads(line) for line in (data / "ops.jsonl").read_text().splitlines()]
    assert [alert["rule"] for alert in sent] == ["ops:feed-disabled"]
    assert "410" in json.dumps(sent[0])
    assert not (data / "news.jsonl").exists()
    checked = cli("status", "--check")
    assert checked.returncode == 5
    assert "feed Gone feed: disabled: the feed is gone (HTTP 410)" in checked.stdout


def test_sqlite_file_and_data_dir_are_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    open_database(f"sqlite:///{data / 'wirewatch.db'}", auto_migrate=True)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "wirewatch.db").stat().st_mode) == 0o600


def test_invalid_database_url_does_not_echo_the_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        make_engine("postgres//admin:hunter2secret@db.example/wirewatch")
    assert "hunter2secret" not in str(caught.value) and "***" in str(caught.value)


@pytest.mark.postgres
def test_percent_encoded_password_migrates_and_is_never_printed(pg_url: str) -> None:
    """Alembic's ConfigParser read "%40" as an interpolation and crashed, printing the URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(pg_url)
    user = parsed.username or "postgres"
    # the test server trusts local connections, so any password is accepted
    with_password = parsed.set(username=user, password="p@ss%word").render_as_string(
        hide_password=False
    )
    assert "%40" in with_password and "%25" in with_password
    engine = open_database(with_password, auto_migrate=True)
    assert installation_id(engine)


def test_percent_in_a_sqlite_path_migrates(tmp_path: Path) -> None:
    odd = tmp_path / "100%25 sure"
    engine = open_database(f"sqlite:///{odd / 'wirewatch.db'}", auto_migrate=True)
    assert installation_id(engine)
