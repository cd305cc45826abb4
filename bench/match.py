"""Matching speed and quietness.

1. Throughput: articles/s for 10, 1,000 and 10,000 rules over 1,000 articles of about
   800 words (real article text from ../shared/corpora/extraction, cut into 800-word
   pieces; synthetic text when the corpus is absent). The 10 rules are the shipped
   watchlist plus three; larger sets add generated rules with the same shapes (phrases,
   proximity, prefixes, NOT, fields) over words drawn from the same text.
2. Quietness: how many of the 10,851 real feed items in ../shared/corpora/rss-arch the
   shipped watchlist alerts on (nearly all of them are general news), with the titles.

Run: ``python bench/match.py`` (one process, one core).
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.config import RuleConfig, load_config  # noqa: E402
from pipeline.match import RuleSet  # noqa: E402
from pipeline.types import Article  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
ARTICLE_WORDS = 800
ARTICLES = 1000


def article_texts() -> list[str]:
    truth = CORPORA / "extraction" / "ground-truth.json"
    if truth.is_file():
        bodies = [item["articleBody"] for item in json.loads(truth.read_text()).values()]
    else:
        rng = random.Random(1)
        vocab = [f"w{i}" for i in range(20000)]
        bodies = [" ".join(rng.choices(vocab, k=3000)) + "." for _ in range(60)]
    words = " ".join(bodies).split()
    step = max((len(words) - ARTICLE_WORDS) // ARTICLES, 1)
    return [" ".join(words[i * step : i * step + ARTICLE_WORDS]) for i in range(ARTICLES)]


def generated_rules(count: int, vocabulary: list[str], rng: random.Random) -> list[RuleConfig]:
    shapes = [
        '("{a} {b}"~5 OR {c}*) AND {d} AND NOT {e}',
        '"{a} {b}" AND ({c} OR {d})',
        "title:{a} OR ({b} AND {c}*)",
        '({a} OR {b} OR {c}) AND "{d} {e}"~10',
        "{a}* AND {b} AND NOT title:{c}",
    ]
    rules = []
    for number in range(count):
        words = dict(zip("abcde", rng.sample(vocabulary, 5), strict=True))
        query = shapes[number % len(shapes)].format(**words)
        rules.append(RuleConfig(name=f"generated-{number}", query=query))
    return rules


def mid_frequency_words(texts: list[str]) -> list[str]:
    counts = Counter(w.lower() for t in texts for w in re.findall(r"[A-Za-z]{4,}", t))
    ranked = [w for w, _ in counts.most_common()]
    return ranked[200:6000]


def throughput() -> None:
    config = load_config(ROOT / "config")
    texts = article_texts()
    articles = [
        Article(
            url=f"https://x.example/{i}", title=" ".join(t.split()[:12]), text=t, source="bench"
        )
        for i, t in enumerate(texts)
    ]
    vocabulary = mid_frequency_words(texts)
    rng = random.Random(42)
    base = list(config.rules.rules)
    print(f"articles: {len(articles)} of {ARTICLE_WORDS} words")
    first = None
    for total in (10, 1_000, 10_000):
        rules = base + generated_rules(total - len(base), vocabulary, rng)
        started = time.perf_counter()
        ruleset = RuleSet.from_config(rules, "bench", config.entities.entities)
        compile_s = time.perf_counter() - started
        started = time.perf_counter()
        matched = sum(1 for article in articles if ruleset.analyse(article).matches)
        elapsed = time.perf_counter() - started
        rate = len(articles) / elapsed
        first = first or rate
        print(
            f"{total:>6} rules: {rate:8.1f} articles/s  ({first / rate:.2f}x the time of 10 rules;"
            f" compile {compile_s:.1f}s; {matched} articles matched)"
        )


def quietness() -> None:
    items_path = CORPORA / "rss-arch" / "items.jsonl"
    if not items_path.is_file():
        print("rss-arch corpus absent: quietness check skipped")
        return
    config = load_config(ROOT / "config")
    ruleset = RuleSet.from_config(config.rules.rules, "rules.yaml", config.entities.entities)
    items = [json.loads(line) for line in items_path.read_text(encoding="utf-8").splitlines()]
    matched = []
    for item in items:
        article = Article(
            url=item.get("link") or "",
            title=item.get("title") or "",
            text=item.get("summary") or "",
            source=item.get("feed") or "",
        )
        found = ruleset.analyse(article).matches
        if found:
            matched.append((article.title, [m.rule for m in found]))
    share = 100 * len(matched) / len(items)
    print(f"\nreal feed items: {len(items)}; alerting: {len(matched)} ({share:.2f}%)")
    for title, rules in matched:
        print(f"  [{','.join(rules)}] {title[:110]}")


if __name__ == "__main__":
    throughput()
    quietness()
