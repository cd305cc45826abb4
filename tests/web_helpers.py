"""A small, real desk for the web tests: a config directory, a migrated database with
synthetic articles matched by the real rule engine, and users of every role."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import FeedConfig, load_entities, load_rules_file
from pipeline.database import make_engine, migrate
from pipeline.health import Health
from pipeline.match import RuleSet
from pipeline.store import PlannedAlert, Store
from pipeline.types import Article, FetchResult
from pipeline.web.accounts import add_user

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
RULES_YAML = """\
# Test watchlist (this comment must survive a save from the workbench)
rules:
  # listings on the Entity List
  - name: entity-list
    description: Entity List additions
    tags: [listings]
    query: '"Entity List"'

  - name: chip-exports  # keep this comment too
    tags: [chips]
    query: '"export control*" AND chip*'
"""
HOSTILE_TITLE = '<script>alert("title")</script> Entity List <b>bold</b>'
HOSTILE_URL = "javascript:alert(document.cookie)"
FILLER = (
    "Officials gave no further detail. Markets were calm on the day. "
    "Analysts said more steps could follow later in the year. "
)


def synthetic_articles() -> list[tuple[Article, int]]:
    """(article, hours before NOW) — written for the tests, not taken from any outlet."""

    def art(url: str, title: str, text: str, source: str) -> Article:
        return Article(url=url, title=title, text=text + " " + FILLER * 3, source=source)

    return [
        (art("https://wire-a.example/entity-list-adds",
             "US adds chipmaker Alpha Semi to the Entity List",
             "The Commerce Department added Alpha Semi to the Entity List on Tuesday. "
             "The listing restricts exports of chips to the company.", "Wire A"), 30),
        (art("https://wire-b.example/alpha-semi-listed",
             "Alpha Semi placed on Entity List by Commerce",
             "The Commerce Department added Alpha Semi to the Entity List on Tuesday. "
             "The listing restricts exports of chips to the company. "
             "Alpha Semi said it would appeal the decision.", "Wire B"), 29),
        (art("https://wire-c.example/new-export-controls",
             "New export controls on chips announced",
             "Washington announced new export controls on advanced chips and tools. "
             "The rules take effect next month.", "Wire C"), 50),
        (art("https://wire-d.example/weather", "Mild weather expected this weekend",
             "Forecasters expect mild weather with light rain on Sunday.", "Wire D"), 10),
        (art(HOSTILE_URL, HOSTILE_TITLE,
             'Summary with <img src=x onerror="alert(1)"> markup and the Entity List. '
             'A link <a href="javascript:alert(2)">click</a> and **stars**.', "Evil <i>Wire</i>"),
         5),
        (art("https://wire-e.example/chip-tariffs", "Chip tariffs debated in parliament",
             "Lawmakers debated chip tariffs and export control options for chips.", "Wire E"),
         70),
    ]  # fmt: skip


@dataclass
class DeskData:
    store: Store
    config_dir: Path
    article_ids: dict[str, int]
    """URL -> article id."""


def copy_desk(template: DeskData, directory: Path) -> DeskData:
    """A private copy of a SQLite desk built once (building runs every migration)."""
    source = Path(template.store.engine.url.database)
    template.store.engine.dispose()
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, directory / "wirewatch.db")
    shutil.copytree(template.config_dir, directory / "config")
    store = Store(make_engine(f"sqlite:///{directory / 'wirewatch.db'}"))
    return DeskData(store, directory / "config", dict(template.article_ids))


def build_desk(db_url: str, config_dir: Path) -> DeskData:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "rules.yaml").write_text(RULES_YAML)
    engine = make_engine(db_url)
    migrate(engine)
    store = Store(engine)
    ruleset = RuleSet.from_config(
        load_rules_file(config_dir / "rules.yaml").rules, "rules.yaml",
        load_entities(config_dir).entities,
    )  # fmt: skip
    ids = {}
    for article, hours in synthetic_articles():
        analysis = ruleset.analyse(article)
        alerts = [PlannedAlert(m.rule, "jsonl", "all") for m in analysis.matches]
        saved = store.save_article(
            article, analysis.matches, alerts, NOW - timedelta(hours=hours),
            entities=analysis.entities,
        )  # fmt: skip
        assert saved is not None
        ids[article.url] = saved.article_id
    for role in ("admin", "analyst", "viewer"):
        add_user(store, role, role, PASSWORD, NOW)
    _record_feeds(store)
    return DeskData(store, config_dir, ids)


FEEDS = {
    "https://wire-a.example/feed.xml": ("ok", None, 0, None),
    "https://wire-b.example/rss": ("timeout", "read timed out after 20 s", 3, None),
    "https://gone.example/feed": ("gone", "HTTP 410", 1, "410 Gone: the feed was removed"),
}
"""URL -> (last outcome, error, failures in a row, why it was disabled)."""


def _record_feeds(store: Store) -> None:
    """Three feeds: healthy, backing off after timeouts, disabled after 410 Gone."""
    states = store.sync_feeds([FeedConfig(url=url) for url in FEEDS], NOW - timedelta(days=3))
    for state in states:
        outcome, error, failures, disabled = FEEDS[state.url]
        result = FetchResult(url=state.url, outcome=outcome, status=200, error=error)
        health = Health(NOW + timedelta(minutes=15 * (failures + 1)), failures, disabled)
        store.record_fetch(state.id, result, health, NOW - timedelta(minutes=5))


# --------------------------------------------------------------------------- fixtures
# Imported by the web test modules (each module builds its own template once).


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> DeskData:
    directory = tmp_path_factory.mktemp("desk")
    return build_desk(f"sqlite:///{directory / 'wirewatch.db'}", directory / "config")


@pytest.fixture
def sqlite_desk(sqlite_template: DeskData, tmp_path: Path) -> Iterator[DeskData]:
    """For what does not depend on the database: SQLite, copied from one built desk."""
    data = copy_desk(sqlite_template, tmp_path / "desk")
    yield data
    data.store.engine.dispose()


@pytest.fixture
def desk(db_url: str, tmp_path: Path, sqlite_template: DeskData) -> Iterator[DeskData]:
    """For what reads or writes through SQL: both SQLite and PostgreSQL."""
    if db_url.startswith("sqlite"):
        data = copy_desk(sqlite_template, tmp_path / "desk")
    else:
        data = build_desk(db_url, tmp_path / "config")
    yield data
    data.store.engine.dispose()
