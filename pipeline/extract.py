"""Article extraction: HTML page -> text and metadata (trafilatura), or the feed's own text.

``extract_page`` is pure (bytes in, ``Extracted`` out); ``build_article`` decides between
the page and the feed content and records why it fell back.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import re
import resource
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
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
            text=page.text,
            source=source,
            canonical_url=page.canonical_url or "",
            author=page.author or entry.author,
            published=entry.published or page.published,
            language=page.language,
            extraction="ok",
        )
    reason = page_problem or ("page text too short" if page else "no article text found in page")
    return Article(
        url=url,
        title=entry.title or (page.title if page else "") or "",
        text=feed_text,
        source=source,
        canonical_url=(page.canonical_url if page else None) or "",
        author=entry.author,
        published=entry.published,
        language=page.language if page else None,
        extraction="fallback" if feed_text else "empty",
        extraction_note=reason,
    )


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

ExtractFunction = Callable[[bytes, str, int], "Extracted | None"]


class ExtractorPool:
    """Runs extraction in worker processes with a hard time limit per page.

    trafilatura can hang or balloon on pathological HTML. Each page goes to an idle worker
    process; one that has not answered within ``timeout`` seconds is killed and replaced,
    and a worker's memory is capped (``memory_mb``), so one hostile page costs one page.
    Extraction runs beside the fetching threads, on other cores. Thread-safe.
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
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._all: list[_Worker] = []

    def extract(self, html: bytes, url: str, max_bytes: int) -> tuple[Extracted | None, str | None]:
        """(result, problem): the problem says why there is no result."""
        worker = self._acquire()
        try:
            worker.connection.send((html[:max_bytes], url, max_bytes))
            if not worker.connection.poll(self.timeout):
                self._discard(worker)
                return None, f"extraction took longer than {self.timeout:g}s and was stopped"
            status, payload = worker.connection.recv()
        except (EOFError, OSError):
            self._discard(worker)
            return None, "the extraction process died (memory limit?)"
        self._idle.put(worker)
        if status == "error":
            return None, f"extraction failed: {payload}"
        return payload, None if payload else "no article text found in page"

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop()

    def _acquire(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._all) < self.size:
                worker = _Worker.start(self._context, self.function, self.memory_mb)
                self._all.append(worker)
                return worker
        return self._idle.get()

    def _discard(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)


@dataclass
class _Worker:
    process: Any
    connection: Any

    @classmethod
    def start(cls, context: Any, function: ExtractFunction, memory_mb: int) -> _Worker:
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve, args=(child, function, memory_mb), daemon=True, name="wirewatch-extract"
        )
        process.start()
        child.close()
        return cls(process, parent)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


def _serve(connection: Any, function: ExtractFunction, memory_mb: int) -> None:
    """The worker process: extract pages until the pipe closes. Ctrl-C is the parent's
    to handle (it kills its workers), so a child never prints a traceback for it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(ValueError, OSError):
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            html, url, max_bytes = connection.recv()
        except (EOFError, OSError):
            return
        try:
            connection.send(("ok", function(html, url, max_bytes=max_bytes)))
        except MemoryError:
            connection.send(("error", "out of memory"))
        except Exception as exc:
            connection.send(("error", f"{type(exc).__name__}: {exc}"))
