"""Wrong story merges by the containment estimate: real feed items against unrelated pages.

Fingerprints the 181 article bodies of ../shared/corpora/extraction (the archive) and the
10,851 real feed items of ../shared/corpora/rss-arch (title + summary: short texts), finds
each item's candidates through shared LSH band keys, as the store does, and counts the
items that ``same_story`` would merge into one of those unrelated articles. For comparison
it also counts what the containment estimate alone (without the minimum of equal minimum
hashes and shared shingles) would have merged.

Run: ``python bench/containment.py``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.dedupe import (  # noqa: E402
    CONTAINMENT_SAME_STORY,
    JACCARD_SAME_STORY,
    MIN_SHINGLES_FOR_CONTAINMENT,
    fingerprint,
    same_story,
    similarity,
)

CORPORA = ROOT.parent / "shared" / "corpora"


def containment_estimate_alone(a, b) -> bool:  # type: ignore[no-untyped-def]
    jaccard = similarity(a.signature, b.signature)
    if jaccard >= JACCARD_SAME_STORY:
        return True
    small = min(a.shingles, b.shingles)
    if small < MIN_SHINGLES_FOR_CONTAINMENT or jaccard <= 0:
        return False
    return jaccard * (a.shingles + b.shingles) / (1 + jaccard) / small >= CONTAINMENT_SAME_STORY


def main() -> None:
    truth_file = CORPORA / "extraction" / "ground-truth.json"
    items_file = CORPORA / "rss-arch" / "items.jsonl"
    if not truth_file.is_file() or not items_file.is_file():
        sys.exit(f"corpora not found under {CORPORA}")
    started = time.perf_counter()
    pages = [body["articleBody"] for body in json.loads(truth_file.read_text()).values()]
    archive = [fingerprint("", text) for text in pages]
    bands: dict[int, set[int]] = defaultdict(set)
    for index, print_ in enumerate(archive):
        for key in print_.bands:
            bands[key].add(index)
    items = [json.loads(line) for line in items_file.read_text().splitlines() if line.strip()]
    merged = merged_before = candidates = 0
    for item in items:
        print_ = fingerprint(item["title"], item.get("summary") or "")
        found = set().union(*(bands.get(key, set()) for key in print_.bands))
        candidates += len(found)
        merged += any(same_story(print_, archive[i])[0] for i in found)
        merged_before += any(containment_estimate_alone(print_, archive[i]) for i in found)
    elapsed = time.perf_counter() - started
    print(f"{len(items)} feed items against {len(archive)} unrelated articles, "
          f"{candidates} band candidates, {elapsed:.1f}s")  # fmt: skip
    print(f"merged by same_story: {merged}")
    print(f"merged by the containment estimate alone: {merged_before}")


if __name__ == "__main__":
    main()
