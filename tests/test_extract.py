import gzip
import json

import pytest

from bench.extract import f1
from pipeline.extract import build_article, extract_page
from pipeline.types import FeedEntry
from tests.conftest import SHARED, article_html

PARAGRAPHS = [
    "The Commerce Department added a dozen companies to the Entity List on Tuesday, citing efforts to acquire advanced chipmaking equipment.",
    "Officials said the firms had tried to obtain deposition and etching tools through distributors in third countries, and that licence applications would face a presumption of denial.",
    "Industry groups said the rule would take effect immediately and asked for guidance on shipments already in transit.",
]
ENTRY = FeedEntry(
    guid="g", link="https://x.example/a", title="Feed title", summary="Feed summary text."
)


def test_extracts_text_and_metadata_without_boilerplate() -> None:
    html = article_html("Twelve firms added to Entity List", PARAGRAPHS).replace(
        "<head>",
        '<head><link rel="canonical" href="https://x.example/canonical"><meta name="author" content="Jo Reporter">',
    )
    page = extract_page(html.encode(), "https://x.example/a?utm_source=x", max_bytes=1_000_000)
    assert page is not None
    assert "presumption of denial" in page.text
    assert "Copyright test outlet" not in page.text and "Home" not in page.text
    assert not page.text.startswith("Twelve firms"), "the headline is not repeated in the text"
    assert page.canonical_url == "https://x.example/canonical"
    assert page.author == "Jo Reporter" and page.language == "en"


def test_page_without_article_falls_back_to_feed_text() -> None:
    empty = extract_page(b"<html><body></body></html>", "https://x.example/a", max_bytes=10_000)
    assert empty is None
    article = build_article(ENTRY, source="Wire", page=empty, page_problem=None)
    assert (article.extraction, article.text) == ("fallback", "Feed summary text.")
    assert article.extraction_note == "no article text found in page"

    menu_only = extract_page(
        b"<html><body><nav>Home</nav></body></html>", "https://x.example/a", max_bytes=10_000
    )
    article = build_article(ENTRY, source="Wire", page=menu_only, page_problem=None)
    assert article.extraction == "fallback" and article.extraction_note == "page text too short"


def test_fetch_problem_is_recorded_on_fallback() -> None:
    article = build_article(ENTRY, source="Wire", page=None, page_problem="page timeout: timed out")
    assert article.extraction == "fallback" and article.extraction_note == "page timeout: timed out"


def test_hostile_html_does_not_raise() -> None:
    nested = b"<div>" * 5000 + b"text" + b"</div>" * 5000
    for html in (b"", b"\xff\xfe\x00garbage", b"<html><script>" + b"x" * 10000, nested):
        extract_page(html, "https://x.example/a", max_bytes=50_000)


@pytest.mark.skipif(
    not (SHARED / "corpora/extraction").is_dir(), reason="../shared/corpora not present"
)
def test_extraction_quality_on_real_pages() -> None:
    """The 181-page benchmark's first 40 pages: wirewatch's extraction settings keep F1 high."""
    root = SHARED / "corpora/extraction"
    truth = json.loads((root / "ground-truth.json").read_text())
    scores = []
    for key in sorted(truth)[:40]:
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        page = extract_page(html, truth[key]["url"], max_bytes=3_000_000)
        scores.append(f1(truth[key]["articleBody"], page.text if page else ""))
    mean = sum(scores) / len(scores)
    print(f"extraction F1 over {len(scores)} real pages: {mean:.3f}")
    assert mean >= 0.85
