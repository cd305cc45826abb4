from datetime import UTC, datetime

import pytest

from pipeline.errors import FetchError
from pipeline.parse import html_to_text, parse_feed
from tests.conftest import rss

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_rss_entries_are_parsed() -> None:
    body = rss(
        [
            {
                "title": "One",
                "link": "http://x.example/1",
                "guid": "g1",
                "date": "Wed, 25 Nov 2026 08:00:00 GMT",
                "summary": "&lt;p&gt;First &amp;amp; best&lt;/p&gt;",
            },
        ]
    )
    parsed = parse_feed(body.encode(), now=NOW)
    [entry] = parsed.entries
    assert (entry.guid, entry.link, entry.title) == ("g1", "http://x.example/1", "One")
    assert entry.summary == "First & best"
    assert entry.published == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert parsed.problem is None


def test_atom_is_parsed() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>
    <updated>2026-11-25T00:00:00Z</updated>
    <entry><title>Atom entry</title><id>urn:e1</id><link href="http://x.example/e1"/>
    <updated>2026-11-25T09:00:00Z</updated><content type="html">&lt;b&gt;Body&lt;/b&gt;</content></entry>
    </feed>"""
    [entry] = parse_feed(body, now=NOW).entries
    assert (entry.guid, entry.link, entry.summary) == ("urn:e1", "http://x.example/e1", "Body")


def test_missing_guid_gets_a_stable_derived_one_and_duplicates_are_dropped() -> None:
    items = [
        {"title": "No id", "link": "http://x.example/n"},
        {"title": "Dup A", "link": "http://x.example/a", "guid": "same"},
        {"title": "Dup B", "link": "http://x.example/b", "guid": "same"},
    ]
    first = parse_feed(rss(items).encode(), now=NOW).entries
    second = parse_feed(rss(items).encode(), now=NOW).entries
    assert first[0].guid.startswith("derived:") and first[0].guid == second[0].guid
    assert [e.title for e in first] == ["No id", "Dup A"]


def test_future_dates_are_clamped_to_now() -> None:
    body = rss([{"title": "Later", "guid": "f", "date": "Fri, 01 Jan 2027 00:00:00 GMT"}])
    [entry] = parse_feed(body.encode(), now=NOW).entries
    assert entry.published == NOW


def test_recoverable_malformed_feed_keeps_entries_and_notes_problem() -> None:
    body = rss([{"title": "Kept", "guid": "k"}]).replace(
        "</channel></rss>", "<item><title>broken &"
    )
    parsed = parse_feed(body.encode(), now=NOW)
    assert [e.title for e in parsed.entries][:1] == ["Kept"]
    assert parsed.problem


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b"<!doctype html><html><body><p>Welcome</p></body></html>",
            "not an RSS/Atom feed: got an HTML page",
        ),
        (b'{"error": "rate limited"}', "not an RSS/Atom feed: got JSON"),
        (b"   ", "empty response"),
    ],
)
def test_non_feeds_are_clear_errors(body: bytes, expected: str) -> None:
    with pytest.raises(FetchError) as caught:
        parse_feed(body, content_type="text/html", now=NOW)
    assert expected in str(caught.value)
    assert caught.value.outcome == "not_a_feed"


def test_broken_xml_without_entries_is_a_parse_error() -> None:
    with pytest.raises(FetchError) as caught:
        parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</ti', now=NOW)
    assert caught.value.outcome in {"parse_error", "not_a_feed"}


def test_wrong_declared_charset_still_gives_text() -> None:
    body = rss([{"title": "Café société", "guid": "c"}]).encode("latin-1")
    [entry] = parse_feed(
        body, content_type="application/rss+xml; charset=iso-8859-1", now=NOW
    ).entries
    assert entry.title == "Café société"


def test_html_to_text_keeps_paragraphs() -> None:
    assert html_to_text("<p>One</p><p>Two <b>bold</b></p>") == "One\n\nTwo bold"
