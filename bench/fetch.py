"""One full cycle against a local farm of feeds and real article pages.

A separate process serves ``--feeds`` feeds of ``--items`` items each, spread over
``--hosts`` loopback addresses (127.0.0.2, 127.0.0.3, …, so per-host limits apply as on
the real web). Each item links to its own URL serving one of the 181 real pages of
../shared/corpora/extraction. wirewatch runs one cycle over the farm into a temporary
SQLite database (fetch, parse, fetch pages, extract in worker processes, dedupe, match,
store). Printed: feeds/s, articles/s, peak resident memory of the pipeline process and of
its extraction workers, and, in the same run, the throughput of bare trafilatura on the
same pages in one process.

Run: ``python bench/fetch.py [--feeds 500 --items 20 --hosts 25]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpora" / "extraction"


def load_pages() -> list[bytes]:
    if not CORPUS.is_dir():
        sys.exit(f"corpus not found: {CORPUS}")
    truth = json.loads((CORPUS / "ground-truth.json").read_text())
    return [
        gzip.decompress((CORPUS / "html" / f"{key}.html.gz").read_bytes()) for key in sorted(truth)
    ]


def host_of(feed: int, hosts: int) -> str:
    return f"127.0.0.{2 + feed % hosts}"


def serve_farm(port: int, feeds: int, items: int, hosts: int, ready: multiprocessing.Event) -> None:
    pages = load_pages()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "feed":
                body, kind = self._feed(int(parts[1].removesuffix(".xml"))), "application/rss+xml"
            else:
                feed, item = int(parts[1]), int(parts[2].removesuffix(".html"))
                body, kind = pages[(feed * items + item) % len(pages)], "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _feed(self, feed: int) -> bytes:
            host = host_of(feed, hosts)
            entries = "".join(
                f"<item><title>Farm story {feed}-{i}</title><guid>f{feed}-{i}</guid>"
                f"<link>http://{host}:{port}/page/{feed}/{i}.html</link>"
                f"<description>Teaser of story {feed}-{i}.</description></item>"
                for i in range(items)
            )
            return (
                f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Farm feed {feed}</title>{entries}</channel></rss>"
            ).encode()

        def log_message(self, *args: object) -> None:
            pass

    for number in range(hosts):
        server = ThreadingHTTPServer((f"127.0.0.{2 + number}", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


def start_farm(port: int, feeds: int, items: int, hosts: int) -> multiprocessing.Process:
    """The farm in its own process, so that serving does not compete for our GIL."""
    ready = multiprocessing.Event()
    farm = multiprocessing.Process(
        target=serve_farm, args=(port, feeds, items, hosts, ready), daemon=True
    )
    farm.start()
    ready.wait(30)
    return farm


def bare_extraction(pages: list[bytes]) -> float:
    import trafilatura

    started = time.perf_counter()
    for page in pages:
        trafilatura.bare_extraction(page, with_metadata=True, include_comments=False,
                                    include_tables=False, favor_precision=True)  # fmt: skip
    return len(pages) / (time.perf_counter() - started)


def run_pipeline(port: int, feeds: int, hosts: int, scratch: Path) -> tuple[float, float, int, int]:
    from pipeline.config import (
        AlertsFile,
        Config,
        FeedConfig,
        FeedsFile,
        FetchSettings,
        load_config,
    )
    from pipeline.run import Pipeline, run_cycle
    from pipeline.store import Store, make_engine, migrate

    shipped = load_config(ROOT / "config")
    fetch = FetchSettings(
        allow_private_networks=True, per_host_delay=0, per_host_concurrency=4, concurrency=16,
        read_timeout=30, total_timeout=60,
    )  # fmt: skip
    config = Config(
        directory=shipped.directory,
        feeds=FeedsFile(
            fetch=fetch,
            feeds=[
                FeedConfig(url=f"http://{host_of(n, hosts)}:{port}/feed/{n}.xml")
                for n in range(feeds)
            ],
        ),
        rules=shipped.rules,
        alerts=AlertsFile(),
        entities=shipped.entities,
    )
    engine = make_engine(f"sqlite:///{scratch / 'bench.db'}")
    migrate(engine)
    pipeline = Pipeline.build(config, Store(engine), base_dir=scratch)
    started = time.perf_counter()
    summary = run_cycle(pipeline)
    elapsed = time.perf_counter() - started
    pipeline.close()
    articles = summary.new_articles + summary.duplicates
    return feeds / elapsed, articles / elapsed, summary.feeds_ok, articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=25)
    parser.add_argument("--port", type=int, default=18733)
    args = parser.parse_args()

    farm = start_farm(args.port, args.feeds, args.items, args.hosts)
    pages = load_pages()
    bare = bare_extraction(pages)
    with tempfile.TemporaryDirectory() as scratch:
        feeds_rate, articles_rate, ok, articles = run_pipeline(
            args.port, args.feeds, args.hosts, Path(scratch)
        )
    farm.kill()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"farm: {args.feeds} feeds x {args.items} items on {args.hosts} loopback hosts")
    print(
        f"pipeline: {feeds_rate:.1f} feeds/s, {articles_rate:.1f} articles/s ({ok} feeds ok, "
        f"{articles} articles fetched, extracted, deduped, matched, stored)"
    )
    print(f"bare trafilatura, one process, same pages: {bare:.1f} pages/s")
    print(f"pipeline / bare extraction: {articles_rate / bare:.2f}")
    print(
        f"peak RSS: pipeline process {own:.0f} MB; "
        f"largest child (an extraction worker or the farm) {children:.0f} MB"
    )


if __name__ == "__main__":
    main()
