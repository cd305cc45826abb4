"""Dedupe look-ups against a large archive.

Builds archives of 10,000 and 100,000 stored articles (texts assembled from the real feed
items in ../shared/corpora/rss-arch, or synthetic words when it is absent), then stores
1,000 new articles through ``Store.save_article`` - the path the pipeline takes: exact URL
and text checks, the near-duplicate band look-up, and the insert of article, story and band
keys. Half of the new articles are edited copies of archived ones. Prints articles/s, how
many joined an existing story, and resident memory before and after the look-ups.

Run: ``python bench/dedupe.py [--db URL]`` (default: a temporary SQLite file).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline import models as m  # noqa: E402
from pipeline.dedupe import canonical_url, fingerprint, text_hash  # noqa: E402
from pipeline.store import Store, make_engine, migrate  # noqa: E402
from pipeline.types import Article  # noqa: E402

ITEMS = ROOT.parent / "shared" / "corpora" / "rss-arch" / "items.jsonl"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LOOKUPS = 1000
BATCH = 2000


def source_texts() -> list[tuple[str, str]]:
    if ITEMS.is_file():
        items = [json.loads(line) for line in ITEMS.read_text(encoding="utf-8").splitlines()]
        return [(i.get("title") or "", i.get("summary") or "") for i in items if i.get("summary")]
    rng = random.Random(3)
    vocab = [f"word{i}" for i in range(30000)]
    return [
        (" ".join(rng.choices(vocab, k=8)), " ".join(rng.choices(vocab, k=40))) for _ in range(5000)
    ]


def make_article(number: int, texts: list[tuple[str, str]], rng: random.Random) -> Article:
    """A distinct article: three feed items' texts joined, about 100 words."""
    parts = rng.sample(texts, 3)
    return Article(
        url=f"https://archive.example/{number}",
        title=parts[0][0],
        text=" ".join(summary for _, summary in parts),
        source="archive",
    )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_archive(store: Store, size: int, texts: list[tuple[str, str]]) -> list[Article]:
    rng = random.Random(size)
    archive = [make_article(n, texts, rng) for n in range(size)]
    with store.engine.begin() as connection:
        for start in range(0, size, BATCH):
            chunk = archive[start : start + BATCH]
            prints = [fingerprint(a.title, a.text) for a in chunk]
            stories = connection.execute(
                insert(m.Story).returning(m.Story.id, sort_by_parameter_order=True),
                [{"title": a.title, "first_seen_at": NOW - timedelta(days=1),
                  "last_seen_at": NOW - timedelta(days=1), "article_count": 1} for a in chunk],
            ).scalars().all()  # fmt: skip
            ids = connection.execute(
                insert(m.Article).returning(m.Article.id, sort_by_parameter_order=True),
                [
                    {
                        "story_id": story, "url": a.url, "canonical_url": canonical_url(a.url),
                        "title": a.title, "text": a.text, "text_hash": text_hash(a.title, a.text),
                        "source": a.source, "fetched_at": NOW - timedelta(days=1),
                        "extraction": "ok", "signature": p.signature, "shingle_count": p.shingles,
                        "entities": [],
                    }
                    for a, p, story in zip(chunk, prints, stories, strict=True)
                ],
            ).scalars().all()  # fmt: skip
            connection.execute(
                insert(m.ArticleBand),
                [{"article_id": i, "band_key": band, "seen_at": NOW - timedelta(days=1)}
                 for i, p in zip(ids, prints, strict=True) for band in p.bands],
            )  # fmt: skip
    return archive


def edited_copy(article: Article, number: int) -> Article:
    words = article.text.split()
    trimmed = " ".join(words[: int(len(words) * 0.8)])
    return Article(
        url=f"https://copies.example/{number}",
        title=f"UPDATE 1-{article.title}",
        text=trimmed.replace(" the ", " a ", 2),
        source="copies",
    )


def run(size: int, url: str, texts: list[tuple[str, str]]) -> None:
    engine = make_engine(url)
    migrate(engine)
    store = Store(engine)
    started = time.perf_counter()
    archive = build_archive(store, size, texts)
    built = time.perf_counter() - started
    rng = random.Random(size + 1)
    new = [
        edited_copy(rng.choice(archive), n) if n % 2 == 0 else make_article(10**7 + n, texts, rng)
        for n in range(LOOKUPS)
    ]
    before = rss_mb()
    started = time.perf_counter()
    joined = [store.save_article(a, [], [], NOW).similar_to is not None for a in new]
    elapsed = time.perf_counter() - started
    copies, others = sum(joined[0::2]), sum(joined[1::2])
    print(
        f"archive {size:>7,}: {LOOKUPS / elapsed:7.1f} articles/s stored with dedupe; "
        f"{copies} of {LOOKUPS // 2} edited copies joined their story, {others} other articles "
        f"joined one (the synthetic archive reuses feed texts); RSS {before:.0f} -> "
        f"{rss_mb():.0f} MB during the look-ups; archive built in {built:.0f}s"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (an empty, migratable database)")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    texts = source_texts()
    for size in map(int, args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            run(size, args.db or f"sqlite:///{scratch}/bench.db", texts)


if __name__ == "__main__":
    main()
