"""Article extraction: HTML page -> text and metadata (trafilatura), or the feed's own text.

``extract_page`` is pure (bytes in, ``Extracted`` out); ``build_article`` decides between
the page and the feed content and records why it fell back.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import re
import resource
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import trafilatura

from .dedupe import normalise_text
from .types import Article, Extracted, FeedEntry

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 200
"""Page text shorter than this (and shorter than the feed's own text) is not trusted."""
_HTML_LANG = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?", re.I)


def extract_page(html: bytes, url: str, *, max_bytes: int) -> Extracted | None:
    """Extract the main text and metadata of a page; ``None`` when nothing usable is found."""
    if len(html) > max_bytes:
        html = html[:max_bytes]
    try:
        document = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            favor_precision=True,
        )
    except Exception as exc:  # trafilatura raises many kinds on hostile HTML
        log.debug("trafilatura failed on %s: %s", url, exc)
        return None
    if document is None or not (document.text or "").strip():
        return None
    title = (document.title or "").strip() or None
    return Extracted(
        text=_without_leading_title(document.text.strip(), title),
        title=title,
        author=(document.author or "").strip() or None,
        published=_parse_date(document.date),
        canonical_url=document.url if document.url and document.url.startswith("http") else None,
        language=document.language or _declared_language(html),
    )


def build_article(
    entry: FeedEntry,
    *,
    source: str,
    page: Extracted | None,
    page_problem: str | None,
) -> Article:
    """Prefer the extracted page; fall back to the feed's content and say why."""
    feed_text = entry.summary
    url = entry.link or ""
    if page is not None and len(page.text) >= min(MIN_TEXT_CHARS, len(feed_text) + 1):
        return Article(
            url=url,
            title=entry.title or page.title or "",
            text=_prefaced(entry.preface, page.text),
            source=source,
            canonical_url=page.canonical_url or "",
            author=page.author or entry.author,
            published=entry.published or page.published,
            language=page.language,
            extraction="ok",
            doctype=entry.doctype,
        )
    reason = page_problem or ("page text too short" if page else "no article text found in page")
    return Article(
        url=url,
        title=entry.title or (page.title if page else "") or "",
        text=_prefaced(entry.preface, feed_text),
        source=source,
        canonical_url=(page.canonical_url if page else None) or "",
        author=entry.author,
        published=entry.published,
        language=page.language if page else None,
        extraction="fallback" if feed_text else "empty",
        extraction_note=reason,
        doctype=entry.doctype,
    )


def _prefaced(preface: str, text: str) -> str:
    return f"{preface}\n\n{text}" if preface and text else preface or text


def _without_leading_title(text: str, title: str | None) -> str:
    """trafilatura keeps the page's headline as the first line of the text; drop it, since
    the title is stored (and matched) on its own."""
    first, _, rest = text.partition("\n")
    if title and rest and normalise_text(first) == normalise_text(title):
        return rest.strip()
    return text


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


def _declared_language(html: bytes) -> str | None:
    found = _HTML_LANG.search(html[:4096])
    return found.group(1).decode("ascii").lower() if found else None


# --------------------------------------------------------------------------- process pool

ExtractFunction = Callable[..., "Extracted | None"]
"""``function(html, url, max_bytes=...)``: importable at module level (it runs in a
worker process)."""


class ExtractorPool:
    """Runs extraction in worker processes with a hard time limit per page.

    trafilatura can hang or balloon on pathological HTML. Pages queue for ``workers``
    processes (``pebble.ProcessPool``); a page that has not been extracted within
    ``timeout`` seconds of starting gets its process killed and replaced, a process that
    dies (the ``memory_mb`` cap) costs its page only, and every caller gets an answer:
    the page, or the reason there is none (the article then falls back to the feed's
    text). Extraction runs beside the fetching threads, on other cores. Thread-safe.
    """

    def __init__(
        self,
        workers: int,
        timeout: float,
        memory_mb: int,
        function: ExtractFunction | None = None,
    ) -> None:
        self.size = workers
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.function = function or extract_page
        self._lock = threading.Lock()
        self._pool: Any = None

    def extract(self, html: bytes, url: str, max_bytes: int) -> tuple[Extracted | None, str | None]:
        """(result, problem): the problem says why there is no result."""
        from concurrent.futures import CancelledError

        from pebble import ProcessExpired

        future = self._started().schedule(
            self.function,
            args=(html[:max_bytes], url),
            kwargs={"max_bytes": max_bytes},
            timeout=self.timeout,
        )
        try:
            payload = future.result()
        except TimeoutError:
            return None, f"extraction took longer than {self.timeout:g}s and was stopped"
        except ProcessExpired:
            return None, "the extraction process died (memory limit?)"
        except CancelledError:
            return None, "extraction stopped: the pool is closing"
        except MemoryError:
            return None, "extraction failed: out of memory"
        except Exception as exc:
            return None, f"extraction failed: {type(exc).__name__}: {exc}"
        return payload, None if payload else "no article text found in page"

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=5)

    def _started(self) -> Any:
        """The process pool, started on first use (a run without pages spawns nothing)."""
        with self._lock:
            if self._pool is None:
                from pebble import ProcessPool

                self._pool = ProcessPool(
                    max_workers=self.size,
                    initializer=_start_worker,
                    initargs=(self.memory_mb, self.function),
                    context=multiprocessing.get_context("spawn"),
                )
            return self._pool


def _start_worker(memory_mb: int, function: ExtractFunction) -> None:
    """Cap a worker process's address space: a page that balloons kills one process.
    ``function`` is passed only so that unpickling it imports its module (trafilatura)
    now, before the first page's time limit starts. Ctrl-C is the parent's to handle
    (it stops the pool), so a worker never prints a traceback for it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(ValueError, OSError):
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
