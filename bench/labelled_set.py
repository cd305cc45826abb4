"""Turn the real-feed corpus and its labels into ``rules test --labels`` inputs.

The repository keeps only ids and labels (tests/data/real_feed_labels.jsonl: feed, guid,
published, label; see docs/labelled-set.md); the publisher text stays in
../shared/corpora/rss-arch/items.jsonl. This writes, for one part of the date split:

* ARTICLES: ``{"id": "<feed>:<guid>", "title", "text": <summary>, "published", "source"}``
* LABELS: ``{"id", "label"}`` for every item of that part, unlabelled items as ``quiet``

Run: ``python bench/labelled_set.py --part heldout OUT_DIR`` then
``wirewatch rules test config/rules.yaml OUT_DIR/articles.jsonl --labels OUT_DIR/labels.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "rss-arch" / "items.jsonl"
LABELS = ROOT / "tests" / "data" / "real_feed_labels.jsonl"
CUTOFF = "2025-11-01T00:00:00+00:00"
"""Items published at or after this instant form the held-out part; older ones: tune."""
PARTS = ("tune", "heldout", "all")


def item_id(item: dict) -> str:
    return f"{item['feed']}:{item['guid']}"


def in_part(published: str | None, part: str) -> bool:
    """ISO 8601 UTC strings of one shape compare in time order."""
    if part == "all":
        return True
    held_out = (published or "") >= CUTOFF
    return held_out if part == "heldout" else not held_out


def read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                yield json.loads(line)


def build(items: Iterable[dict], labels: Iterable[dict], part: str) -> tuple[list, list]:
    """(articles, labels) of one part; every corpus item gets a label, quiet by default."""
    wanted = {(label["feed"], label["guid"]): label["label"] for label in labels}
    articles, truth = [], []
    for item in items:
        if not in_part(item.get("published"), part):
            continue
        articles.append(
            {
                "id": item_id(item),
                "title": item["title"],
                "text": item["summary"],
                "published": item.get("published"),
                "source": item["feed"],
            }
        )
        label = wanted.get((item["feed"], item["guid"]), "quiet")
        truth.append({"id": item_id(item), "label": label})
    return articles, truth


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="writes articles.jsonl and labels.jsonl here")
    parser.add_argument("--part", choices=PARTS, default="all")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--labels", type=Path, default=LABELS)
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        print(f"labelled_set: corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    articles, truth = build(read_jsonl(args.corpus), read_jsonl(args.labels), args.part)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out_dir / "articles.jsonl", articles)
    write_jsonl(args.out_dir / "labels.jsonl", truth)
    core = sum(row["label"] == "core" for row in truth)
    print(f"{args.part}: {len(articles)} articles ({core} core) in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
