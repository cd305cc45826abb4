"""Time from an item's appearance in its feed to its Slack post, with a worker running.

A farm of feeds on loopback hosts (its own process) publishes items at random moments;
some feeds answer slowly (5–15 s), some are large (50 old items). Every item matches a
rule, so every item is posted to a local Slack-like receiver. The worker runs in this
process (``run_worker``) against a fresh SQLite database; each item's latency is its post
time minus the moment it appeared in its feed. Prints p50/p95/max, then the same with
one more feed that trickles bytes for 60 s on every fetch.

Run: ``python bench/latency.py [--feeds 50 --interval 30 --seconds 60]`` (about 8 min).
Target (issue 16): p95 ≤ interval + 10 s; the trickling feed moves the others' p95 < 2 s.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import random
import re
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOSTS = 10
OLD_ITEMS = 50
"""Extra old items of a large feed (1 in 10), there from the start (~25 kB of XML)."""
WORDS = (  # noqa: SIM905
    "export licence chip wafer tool foundry memory board ministry tariff vendor supplier "
    "shipment customs review agency rule notice filing court company market order plant "
    "capacity node design software equipment lithography etch deposition packaging test "
    "server cluster accelerator network cable module sensor battery magnet mineral metal"
).split()


def schedule(feeds: int, seconds: float, seed: int) -> dict[int, list[float]]:
    """Per feed, the offsets (s after start) at which its items appear: about two each."""
    rng = random.Random(seed)
    return {
        feed: sorted(rng.uniform(5, seconds) for _ in range(rng.choice((1, 2, 2, 3))))
        for feed in range(feeds)
    }


def item_text(feed: int, number: int) -> str:
    rng = random.Random(feed * 1000 + number)
    words = " ".join(rng.choice(WORDS) + str(rng.randrange(10_000)) for _ in range(120))
    return f"The Commerce Department put firm F{feed}N{number} on the Entity List. {words}."


def host_of(feed: int) -> str:
    return f"127.0.0.{2 + feed % HOSTS}"


def serve_farm(port: int, plan: dict[int, list[float]], shared_start: Any, trickle: int | None,
               ready: multiprocessing.Event) -> None:  # fmt: skip
    """Serve the feeds; items appear ``plan`` seconds after ``shared_start`` (set by the
    bench once the worker has stored the old items)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            feed = int(parts[1].removesuffix(".xml"))
            if parts[0] == "page":
                number = int(parts[2].removesuffix(".html"))
                return self._send(_page(feed, number).encode(), "text/html")
            if feed == trickle:
                return self._trickle()
            if feed % 10 == 1:
                time.sleep(5 + feed % 11)  # a slow feed
            body = _feed(feed, plan[feed], shared_start.value)
            self._send(body.encode(), "application/rss+xml")

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _trickle(self) -> None:
            body = _feed(trickle or 0, [], shared_start.value).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body) + 60))
            self.end_headers()
            try:
                for _ in range(60):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(1)
                self.wfile.write(body)
            except OSError:
                pass

    for host in {host_of(feed) for feed in plan} | {host_of(trickle or 0)}:
        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    while True:
        time.sleep(3600)


def _feed(feed: int, offsets: list[float], start: float) -> str:
    now = time.time()
    items = [
        _item(feed, number, start + offset)
        for number, offset in enumerate(offsets)
        if start + offset <= now
    ]
    if feed % 10 == 2:  # a large feed: old items too
        items += [_item(feed, 1000 + n, start - 86400) for n in range(OLD_ITEMS)]
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title><link>http://x/</link>'
        f"<description>d</description>{''.join(items)}</channel></rss>"
    )


def _item(feed: int, number: int, when: float) -> str:
    """A new item links to its page; the old items of a large feed carry only their text."""
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(when))
    if number >= 1000:
        text = f"old item {feed} {number} " + " ".join(
            WORDS[(number + i) % len(WORDS)] for i in range(60)
        )
        return (
            f"<item><title>Old {feed}/{number}</title><guid>{feed}-{number}</guid>"
            f"<pubDate>{date}</pubDate><description>{text}</description></item>"
        )
    link = f"http://{host_of(feed)}:{PORT[0]}/page/{feed}/{number}.html"
    summary = item_text(feed, number)[:300]
    return (
        f"<item><title>Item F{feed}N{number}</title><link>{link}</link>"
        f"<guid>{feed}-{number}</guid><pubDate>{date}</pubDate>"
        f"<description>{summary}</description></item>"
    )


def _page(feed: int, number: int) -> str:
    return (
        f"<!doctype html><html lang='en'><head><title>Item F{feed}N{number}</title></head><body>"
        f"<article><h1>Item F{feed}N{number}</h1><p>{item_text(feed, number)}</p></article>"
        "</body></html>"
    )


PORT = [0]


class Receiver:
    """A Slack-like incoming webhook that notes when each item was posted."""

    def __init__(self) -> None:
        self.posted: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                found = re.search(r"F\d+N\d+", json.loads(body or b"{}").get("text", ""))
                if found:
                    receiver.posted.setdefault(found.group(0), time.time())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T/B/X"


def write_config(directory: Path, port: int, feeds: list[int], interval: int, slack: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fetch = {"allow_private_networks": True, "concurrency": 8, "per_host_delay": 0.5}
    urls = [
        {"url": f"http://{host_of(n)}:{port}/feed/{n}.xml", "interval": f"{interval}s"}
        for n in feeds
    ]
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"fetch": fetch, "feeds": urls}))
    rules = {"rules": [{"name": "entity-list", "query": '"Entity List"'}]}
    (directory / "rules.yaml").write_text(yaml.safe_dump(rules))
    alerts = {
        "channels": {"slack": {"type": "slack", "webhook_url": slack}},
        "routes": [{"name": "all", "rules": ["*"], "channels": ["slack"]}],
    }
    (directory / "alerts.yaml").write_text(yaml.safe_dump(alerts))
    return directory


def measure(feeds: int, interval: int, seconds: float, trickle: bool, seed: int) -> list[float]:
    from pipeline.config import load_config
    from pipeline.run import Pipeline
    from pipeline.store import Store, make_engine, migrate
    from pipeline.worker import run_worker

    plan = schedule(feeds, seconds, seed)
    trickler = feeds if trickle else None
    port = 20000 + random.Random().randrange(20000)
    PORT[0] = port
    shared_start = multiprocessing.Value("d", time.time() + 86400)
    ready = multiprocessing.Event()
    farm = multiprocessing.Process(
        target=serve_farm, args=(port, plan, shared_start, trickler, ready), daemon=True
    )
    farm.start()
    ready.wait(30)
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as tmp:
        listed = list(plan) + ([trickler] if trickler is not None else [])
        config = write_config(Path(tmp) / "config", port, listed, interval, receiver.url)
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        pipeline = Pipeline.build(load_config(config), Store(engine), base_dir=Path(tmp))
        stop = threading.Event()
        worker = threading.Thread(target=run_worker, args=(pipeline, stop), daemon=True)
        worker.start()
        warm_up(pipeline.store, OLD_ITEMS * sum(1 for f in plan if f % 10 == 2))
        start = shared_start.value = time.time() + 2
        deadline = start + seconds + interval + 40
        expected = {
            f"F{f}N{n}": start + off for f, offs in plan.items() for n, off in enumerate(offs)
        }
        while time.time() < deadline and len(receiver.posted) < len(expected):
            time.sleep(1)
        stop.set()
        worker.join(90)
        pipeline.close()
    farm.terminate()
    receiver.server.shutdown()
    missing = set(expected) - set(receiver.posted)
    if missing:
        print(f"  {len(missing)} items not posted in time: {sorted(missing)[:5]}")
    return [receiver.posted[key] - expected[key] for key in expected if key in receiver.posted]


def warm_up(store: Any, old_items: int, limit: float = 300) -> None:
    """Wait until the worker has stored the large feeds' old items (its first pass)."""
    began = time.time()
    while store.counts()["articles"] < old_items and time.time() < began + limit:
        time.sleep(1)
    print(f"  warm-up: {store.counts()['articles']} old items stored in {time.time() - began:.0f}s")


def report(label: str, delays: list[float]) -> float:
    ordered = sorted(delays)

    def pct(fraction: float) -> float:
        # nearest rank, as pipeline.alert_times (not imported: the bench also runs on old code)
        return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)] if ordered else 0.0

    print(f"{label}: {len(ordered)} items  p50 {pct(0.5):.1f}s  p95 {pct(0.95):.1f}s  "
          f"max {ordered[-1] if ordered else 0:.1f}s")  # fmt: skip
    return pct(0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--interval", type=int, default=30, help="feed interval, seconds")
    parser.add_argument("--seconds", type=float, default=90, help="items appear this long")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--only", choices=("plain", "trickle"))
    args = parser.parse_args()
    print(f"{args.feeds} feeds on {HOSTS} loopback hosts, interval {args.interval}s, items "
          f"appearing over {args.seconds:.0f}s; 1 in 10 feeds slow (5–15 s), "
          "1 in 10 large")  # fmt: skip
    plain = trickled = None
    if args.only != "trickle":
        plain = report("appearance → Slack", measure(args.feeds, args.interval, args.seconds,
                                                     False, args.seed))  # fmt: skip
    if args.only != "plain":
        trickled = report("with one feed trickling 60 s", measure(
            args.feeds, args.interval, args.seconds, True, args.seed))  # fmt: skip
    if plain is not None and trickled is not None:
        print(f"p95 target ≤ {args.interval + 10}s; trickling feed moves p95 by "
              f"{trickled - plain:+.1f}s (target < 2 s)")  # fmt: skip


if __name__ == "__main__":
    main()
