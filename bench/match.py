"""Matching throughput of the shipped watchlist on real feed items from ../shared/corpora.

Prints articles/s over the 10,851 rss-arch items and how many of them alert (that corpus
is almost all general news, so this is mostly a false-alert count), with a sample of the
titles that matched. Run: ``python bench/match.py``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.config import load_config  # noqa: E402
from pipeline.match import RuleSet  # noqa: E402
from pipeline.types import Article  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "rss-arch" / "items.jsonl"


def main() -> None:
    if not CORPUS.is_file():
        sys.exit(f"corpus not found: {CORPUS}")
    rules = RuleSet.from_config(load_config(ROOT / "config").rules.rules)
    articles = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        articles.append(
            Article(
                url=item.get("link") or "",
                title=item.get("title") or "",
                text=item.get("summary") or "",
                source=item.get("feed") or "",
            )
        )
    started = time.perf_counter()
    results = [rules.match(article) for article in articles]
    elapsed = time.perf_counter() - started
    matched = [(a, r) for a, r in zip(articles, results, strict=True) if r]
    by_rule = Counter(m.rule for _, r in matched for m in r)
    print(f"articles: {len(articles)}, rules: {len(rules.rules)}")
    print(f"throughput: {len(articles) / elapsed:,.0f} articles/s")
    print(f"articles with a match: {len(matched)} ({100 * len(matched) / len(articles):.2f}%)")
    for rule, count in by_rule.most_common():
        print(f"  {rule}: {count}")
    for article, found in matched[:40]:
        print(f"  - [{','.join(m.rule for m in found)}] {article.title[:110]}")


if __name__ == "__main__":
    main()
