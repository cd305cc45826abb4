"""The article pages of a cycle's new entries: fetched politely and extracted.

Each distinct page is fetched once; hosts take turns so that one host's pages are spaced
apart while the others' go ahead; the pipeline's fetch slots bound what is in flight
across every cycle; extraction runs in the pipeline's killable process pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from . import metrics
from .assembly import Pipeline
from .concurrency import run_all
from .fetch import PAGE_ACCEPT
from .types import Extracted

PageOutcome = tuple[Extracted | None, str | None]
"""The extracted page, or None and why not."""


def fetch_pages(
    pipeline: Pipeline, links: Mapping[str | None, str]
) -> dict[str | None, PageOutcome]:
    """Fetch and extract each page (key -> URL) once, concurrently: hosts take turns, and
    requests in flight on the whole pipeline stay within ``fetch.concurrency``."""
    settings = pipeline.config.feeds.fetch
    if not settings.fetch_pages:
        return dict.fromkeys(links, (None, "page fetching is off (fetch.fetch_pages)"))

    def fetch_and_extract_unless_stopped(
        item: tuple[str | None, str],
    ) -> tuple[str | None, PageOutcome]:
        if pipeline.stop.is_set():
            return item[0], (None, "stopped")
        return fetch_and_extract(item)

    def fetch_and_extract(
        item: tuple[str | None, str],
    ) -> tuple[str | None, PageOutcome]:
        key, url = item
        with pipeline.fetch_slots:
            result = pipeline.fetcher.get(url, accept=PAGE_ACCEPT)
        if not result.ok:
            return key, (None, f"page {result.outcome}: {result.error}")
        kind = (result.content_type or "text/html").split(";")[0].strip().lower()
        if "html" not in kind and "xml" not in kind:
            return key, (None, f"page is {kind}, not HTML")
        page_url = result.final_url or url
        with metrics.EXTRACTIONS.time():
            return key, pipeline.extractor.extract(result.body, page_url, settings.max_html_bytes)

    items = hosts_in_turn(list(links.items()))
    results = run_all(fetch_and_extract_unless_stopped, items, settings.concurrency, pipeline.stop)
    return dict(result for result in results if result is not None)


def hosts_in_turn(items: Sequence[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    """The page URLs reordered so that hosts take turns: pages of one host are spaced
    apart (politeness), and meanwhile the other hosts' pages go ahead."""
    by_host: dict[str, list[tuple[str | None, str]]] = {}
    for item in items:
        by_host.setdefault(urlsplit(item[1]).netloc.lower(), []).append(item)
    queues = list(by_host.values())
    return [
        queue[i]
        for i in range(max(map(len, queues), default=0))
        for queue in queues
        if i < len(queue)
    ]
