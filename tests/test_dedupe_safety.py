"""Dedupe must never swallow a different story: boilerplate pages, text and canonical-URL
repeats outside the window or under another headline, containment on chance overlap."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.dedupe import (
    NUM_PERM,
    Fingerprint,
    StoredArticle,
    exact_duplicate,
    same_story,
    shared_boilerplate,
)
from pipeline.run import Pipeline, run_cycle
from pipeline.store import Store, make_engine, migrate
from pipeline.types import Article
from tests.conftest import LocalServer, rss, write_config

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
CONSENT = (
    "Before you continue to our website we and our partners use cookies and data to deliver "
    "and maintain services, measure audience engagement and statistics to understand how our "
    "services are used, and develop and improve new services. If you choose to accept all, we "
    "will also use cookies and data to develop and improve new services and to show ads."
)
EXPORT = (
    "The Commerce Department imposed new export controls on advanced AI chips bound for "
    "China on Monday. The rule requires an export licence for accelerators above a "
    "performance threshold and covers high-bandwidth memory."
)


def _stored(id_: int, title: str, *, url: str = "https://x.example/a", age=timedelta(0)):  # type: ignore[no-untyped-def]
    return StoredArticle(
        id=id_,
        story_id=id_,
        url=url,
        canonical_url=url,
        text_hash="h",
        title=title,
        fetched_at=NOW - age,
    )


def test_same_text_counts_only_under_the_same_headline_within_the_window() -> None:
    other = _stored(1, "Chip stocks fall")
    same = _stored(2, "UPDATE 1-Chip stocks fall", age=timedelta(days=1))
    old = _stored(3, "Chip stocks fall", age=timedelta(days=30))

    def decide(*stored: StoredArticle):  # type: ignore[no-untyped-def]
        found = exact_duplicate(
            "Chip stocks fall", ["https://x.example/new"], None, "h", stored, now=NOW, window=WEEK
        )
        return found and (found[0].id, found[1])

    assert decide(_stored(1, "Export rules tighten")) is None
    assert decide(old) is None
    assert decide(other) == (1, "same text and headline")
    assert decide(same) == (2, "same text and headline")
    by_url = exact_duplicate(
        "Anything", ["https://x.example/a"], None, "other", [old], now=NOW, window=WEEK
    )
    assert by_url is not None and by_url[1] == "same URL"


def test_declared_canonical_url_needs_the_same_headline() -> None:
    consent = _stored(1, "Rates held", url="https://x.example/consent")
    found = exact_duplicate(
        "Export rules tighten",
        ["https://x.example/export"],
        "https://x.example/consent",
        "different",
        [consent],
        now=NOW,
        window=WEEK,
    )
    assert found is None


def test_text_shared_by_other_headlines_on_one_host_is_boilerplate() -> None:
    stored = [_stored(1, "Rates held", url="https://www.x.example/rates")]
    assert shared_boilerplate("https://x.example/export", "Export rules tighten", stored)
    assert not shared_boilerplate("https://y.example/export", "Export rules tighten", stored)
    assert not shared_boilerplate("https://x.example/rates2", "UPDATE 2-Rates held", stored)


def _fingerprint(
    matching: int, shingles: int, other_shingles: int
) -> tuple[Fingerprint, Fingerprint]:
    a = np.arange(NUM_PERM, dtype=np.uint32)
    b = a + 1000
    b[:matching] = a[:matching]
    return Fingerprint(a.tobytes(), shingles, ()), Fingerprint(b.tobytes(), other_shingles, ())


def test_containment_needs_real_overlap() -> None:
    """2 of 64 equal minimum hashes between a short item and a long article is chance."""
    short, long_ = _fingerprint(2, 14, 1000)
    assert same_story(short, long_)[0] is False
    trimmed, full = _fingerprint(12, 120, 700)  # a copy cut to its first paragraphs
    assert same_story(trimmed, full)[0] is True


# --------------------------------------------------------------------------- pipeline


def _consent_page() -> str:
    return (
        '<!doctype html><html lang="en"><head><title>Before you continue</title>'
        '<link rel="canonical" href="/consent"></head><body><main><h1>Before you continue</h1>'
        f"<p>{CONSENT}</p><p>{CONSENT}</p></main></body></html>"
    )


@pytest.fixture
def consent_site(tmp_path: Path, http_server: LocalServer) -> Iterator[Pipeline]:
    for slug in ("rates", "export"):
        http_server.add(f"/news/{slug}", _consent_page(), content_type="text/html")
    http_server.add(
        "/feed.xml",
        rss(
            [
                {"title": "Central bank holds rates", "link": http_server.url("/news/rates"),
                 "guid": "r1", "summary": "The central bank held rates steady on Thursday."},
                {"title": "US tightens AI chip export rules",
                 "link": http_server.url("/news/export"), "guid": "e1", "summary": EXPORT},
            ]
        ),
    )  # fmt: skip
    config = write_config(tmp_path / "config", feeds=[{"url": http_server.url("/feed.xml")}])
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)
    pipeline = Pipeline.build(load_config(config), Store(engine), base_dir=tmp_path)
    yield pipeline
    pipeline.close()
    engine.dispose()


def test_a_consent_page_for_every_article_does_not_swallow_the_second(
    consent_site: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="pipeline"):
        summary = run_cycle(consent_site)
    assert summary.new_articles == 2 and summary.duplicates == 0
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert any(alert["title"] == "US tightens AI chip export rules" for alert in alerts)
    assert any("shared by other headlines" in record.getMessage() for record in caplog.records)


def test_the_same_url_is_still_one_article(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)
    store = Store(engine)
    article = Article(url="https://x.example/a", title="Chips", text=EXPORT, source="s")
    first = store.save_article(article, [], [], NOW)
    again = store.save_article(article, [], [], NOW + timedelta(days=30))
    assert first is not None and again is not None and again.duplicate_of == first.article_id
    engine.dispose()


def test_an_item_updated_in_place_is_matched_again(
    tmp_path: Path, http_server: LocalServer
) -> None:
    item = {"title": "Chipmaker reports quarterly results", "guid": "g1",
            "link": http_server.url("/news/results"),
            "summary": "The company reported revenue in line with forecasts."}  # fmt: skip
    http_server.add("/feed.xml", rss([item]))
    config = write_config(
        tmp_path / "config",
        feeds=[{"url": http_server.url("/feed.xml")}],
        fetch={"fetch_pages": False},
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)
    pipeline = Pipeline.build(load_config(config), Store(engine), base_dir=tmp_path)
    alerts_file = tmp_path / "alerts.jsonl"
    try:
        first = run_cycle(pipeline)
        assert first.new_articles == 1 and first.alerts == 0
        updated = {**item, "title": "UPDATE 2-" + item["title"], "summary": EXPORT}
        http_server.add("/feed.xml", rss([updated]))
        second = run_cycle(pipeline)
        third = run_cycle(pipeline)
    finally:
        pipeline.close()
        engine.dispose()
    assert second.alerts >= 1 and third.alerts == 0
    alerts = [json.loads(line) for line in alerts_file.read_text().splitlines()]
    assert alerts and all(alert["title"].startswith("UPDATE 2-") for alert in alerts)
