"""Extraction throughput and quality on the 181-page benchmark in ../shared/corpora.

Prints pages/s for bare trafilatura and for wirewatch's ``extract_page`` on the same pages,
and the mean shingle F1 against the ground truth. Run: ``python bench/extract.py``.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipeline.extract import extract_page

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "extraction"


def f1(expected: str, got: str) -> float:
    def shingles(text: str) -> Counter:
        tokens = re.findall(r"\w+", text)
        return Counter(tuple(tokens[i : i + 4]) for i in range(max(len(tokens) - 3, 0)))

    truth, pred = shingles(expected), shingles(got)
    overlap = sum((truth & pred).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(truth.values())
    return 2 * precision * recall / (precision + recall)


def main() -> None:
    if not CORPUS.is_dir():
        sys.exit(f"corpus not found: {CORPUS}")
    truth = json.loads((CORPUS / "ground-truth.json").read_text())
    pages = {
        key: gzip.decompress((CORPUS / "html" / f"{key}.html.gz").read_bytes()) for key in truth
    }

    started = time.perf_counter()
    for key, html in pages.items():
        trafilatura.extract(html, url=truth[key]["url"])
    bare = time.perf_counter() - started

    started = time.perf_counter()
    scores = []
    for key, html in pages.items():
        page = extract_page(html, truth[key]["url"], max_bytes=3 * 1024 * 1024)
        scores.append(f1(truth[key]["articleBody"], page.text if page else ""))
    ours = time.perf_counter() - started

    print(f"pages: {len(pages)}")
    print(f"bare trafilatura.extract: {len(pages) / bare:.1f} pages/s")
    print(f"wirewatch extract_page:   {len(pages) / ours:.1f} pages/s")
    print(f"wirewatch mean F1 (4-token shingles): {sum(scores) / len(scores):.3f}")


if __name__ == "__main__":
    main()
