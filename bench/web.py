"""Web desk speed on a real-size archive: rule preview p95 (target ≤ 1 s) and page p95
(target ≤ 200 ms) over 100,000 stored articles.

The script fills a fresh database with synthetic articles (generated here: a Zipf-like
vocabulary of made-up words, with the watchlist's terms sprinkled into about 3 % of
them), spread over 90 days, with matches, alerts, feeds and entries, then times

1. ``/api/rules/preview`` for every rule of the shipped watchlist (config/rules.yaml) over
   30 days, plus two deliberately broad drafts, several rounds each;
2. every main page (matches, a story, an article, sources, outbox, rules, a workbench).

Requests go through the real app (auth, templates) in-process with Starlette's
TestClient. Run: ``python bench/web.py [--articles N] [--db URL] [--rounds N]``
(default: 100,000 articles in a temporary SQLite file; a ``--db`` that already holds
articles is measured as it is, without filling).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sqlalchemy import insert  # noqa: E402

from pipeline import models as m  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.database import make_engine, migrate  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.web.accounts import add_user, create_token  # noqa: E402

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SPAN_DAYS = 90
SENTENCES_PER_ARTICLE = 12
"""12 sentences of 18 words: about 220 words an article."""
COMMON_BEAT_WORDS = ["China", "chips", "semiconductor", "export", "Beijing", "tariffs",
                     "Japan", "sales", "licence", "Nvidia"]  # fmt: skip
DOMAIN_PHRASES = [
    "export controls on advanced chips", "added to the Entity List", "Nvidia H20 sales to China",
    "the Bureau of Industry and Security issued a rule", "chip smuggling case", "ASML lithography",
    "Dutch export licence requirements", "semiconductor tariffs", "Chinese export ban on gallium",
    "AI accelerator shipments", "foreign direct product rule", "Commerce Department",
]  # fmt: skip
BROAD_DRAFTS = ["chip* OR semiconductor*", "China OR Chinese OR Beijing"]
SOURCES = [f"Outlet {i}" for i in range(200)]


def vocabulary(rng: random.Random, size: int = 30000) -> tuple[list[str], list[float]]:
    syllables = ["ka", "lo", "mi", "ren", "tus", "va", "pel", "dor", "si", "qua", "nex", "bri"]
    words = sorted({"".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(size)})
    weights = [1 / (rank + 1) for rank in range(len(words))]
    rng.shuffle(words)
    return words, weights


def sentences(rng: random.Random, count: int = 6000) -> list[str]:
    """A pool of made-up sentences; one in twenty carries a common word of the beat."""
    words, weights = vocabulary(rng)
    pool = []
    for _ in range(count):
        sentence = rng.choices(words, weights, k=18)
        if rng.random() < 0.05:
            sentence[rng.randrange(18)] = rng.choice(COMMON_BEAT_WORDS)
        pool.append(" ".join(sentence).capitalize() + ".")
    return pool


def fill(store: Store, count: int, rng: random.Random) -> None:
    pool = sentences(rng)
    started = time.perf_counter()
    with store.engine.begin() as connection:
        connection.execute(insert(m.Feed), [
            {"id": i + 1, "url": f"https://outlet{i}.example/feed", "name": source,
             "interval_seconds": 900, "enabled": i % 50 != 7, "consecutive_failures": i % 13 == 0,
             "last_outcome": "ok" if i % 13 else "timeout", "created_at": NOW,
             "last_success_at": NOW - timedelta(hours=i % 30)}
            for i, source in enumerate(SOURCES)
        ])  # fmt: skip
    batch = 5000
    for start in range(0, count, batch):
        stories, articles, entries, matches, alerts = [], [], [], [], []
        for number in range(start, min(start + batch, count)):
            ident = number + 1
            when = NOW - timedelta(seconds=(count - number) * SPAN_DAYS * 86400 / count)
            body = rng.choices(pool, k=SENTENCES_PER_ARTICLE)
            title = body[0].rstrip(".")
            hot = rng.random() < 0.03
            if hot:
                phrase = rng.choice(DOMAIN_PHRASES)
                body[rng.randrange(len(body))] = f"Officials said {phrase} on the day."
                title = f"{title} {phrase}"
            text = " ".join(body)
            stories.append({"id": ident, "title": title, "first_seen_at": when,
                            "last_seen_at": when, "article_count": 1})  # fmt: skip
            articles.append({
                "id": ident, "story_id": ident, "url": f"https://x.example/{ident}",
                "canonical_url": f"https://x.example/{ident}", "title": title, "text": text,
                "text_hash": f"{ident:064x}", "source": SOURCES[ident % len(SOURCES)],
                "fetched_at": when, "published_at": when, "extraction": "ok", "entities": [],
            })  # fmt: skip
            entries.append({"feed_id": ident % len(SOURCES) + 1, "guid": f"g{ident}",
                            "link": f"https://x.example/{ident}", "article_id": ident,
                            "first_seen_at": when})  # fmt: skip
            if hot:
                matches.append({"article_id": ident, "rule": "chip-export-controls", "score": 4.0,
                                "terms": [phrase], "highlights": [f"… **{phrase}** …"],
                                "created_at": when})  # fmt: skip
                alerts.append({"rule": "chip-export-controls", "story_id": ident,
                               "article_id": ident, "channel": "slack", "route": "all",
                               "status": rng.choice(["sent", "pending", "dead"]), "attempts": 1,
                               "next_attempt_at": when, "created_at": when})  # fmt: skip
        with store.engine.begin() as connection:
            connection.execute(insert(m.Story), stories)
            connection.execute(insert(m.Article), articles)
            connection.execute(insert(m.Entry), entries)
            if matches:
                connection.execute(insert(m.MatchRow), matches)
                connection.execute(insert(m.AlertRow), alerts)
    elapsed = time.perf_counter() - started
    print(f"filled {count:,} articles (about 220 words each) in {elapsed:.0f} s")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   max {ordered[-1]:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from pipeline.web.app import create_app

    workdir = Path(tempfile.mkdtemp(prefix="wirewatch-bench-web-"))
    engine = make_engine(args.db or f"sqlite:///{workdir / 'bench.db'}")
    migrate(engine)
    store = Store(engine)
    rng = random.Random(15)
    stored = store.counts()["articles"]
    if stored:
        print(f"reusing the {stored:,} articles already in {args.db}")
        args.articles = stored
    else:
        fill(store, args.articles, rng)
    add_user(store, "bench", "admin", "bench-password", NOW)
    token = create_token(store, "bench", "admin", NOW)
    config = load_config(ROOT / "config")
    app = create_app(store, ROOT / "config", "bench-secret", clock=lambda: NOW)
    client = TestClient(app)
    auth = {"Authorization": f"Bearer {token}"}

    queries = [rule.query for rule in config.rules.rules] + BROAD_DRAFTS
    timings, server_ms, checked = [], [], []
    for _ in range(args.rounds):
        for query in queries:
            started = time.perf_counter()
            response = client.post("/api/rules/preview", json={"query": query, "days": 30},
                                   headers=auth)  # fmt: skip
            timings.append((time.perf_counter() - started) * 1000)
            body = response.json()
            assert response.status_code == 200, body
            server_ms.append(body["elapsed_ms"])
            checked.append((body["candidates"], body["checked"], len(body["matches"])))
    shipped, broad = len(config.rules.rules), len(BROAD_DRAFTS)
    print(f"\npreview over 30 days, {len(queries)} queries x {args.rounds} rounds "
          f"(the {shipped} shipped rules + {broad} broad drafts):")  # fmt: skip
    print(f"  request      {percentiles(timings)}")
    print(f"  elapsed_ms   {percentiles(server_ms)}")
    for query, (candidates, done, matched) in zip(queries, checked, strict=False):
        note = f" (newest {done:,} checked)" if done < candidates else ""
        print(f"  {candidates:6,} candidates -> {matched:5,} matches{note}: {query[:60]!r}")

    client.post("/login", data={"name": "bench", "password": "bench-password"})
    pages = ["/", "/?rule=chip-export-controls", f"/stories/{args.articles}",
             f"/articles/{args.articles}", "/sources", "/outbox", "/rules",
             "/rules/new", "/api/matches", "/api/feeds"]  # fmt: skip
    print(f"\npages ({args.rounds * 5} requests each):")
    every = []
    for path in pages:
        samples = []
        for _ in range(args.rounds * 5):
            started = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        every += samples
        print(f"  {path:28} {percentiles(samples)}")
    print(f"  {'all pages':28} {percentiles(every)}")
    print("\n/rules/{name} (workbench page with its preview) is the preview plus ~a page.")


if __name__ == "__main__":
    main()
