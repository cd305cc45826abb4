"""Precision and recall of "update sent" on the labelled developing stories.

Each story's first version is the alert; each later version is judged against the
versions already sent (the original and the updates), as the pipeline does. Prints the
counts, precision and recall, and every wrong call. Run: ``python bench/updates.py``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipeline.novelty import novelty

STORIES = Path(__file__).resolve().parent.parent / "tests" / "data" / "story_updates.yaml"


@dataclass
class Score:
    stories: int = 0
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0
    mistakes: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        sent = self.true_positive + self.false_positive
        return self.true_positive / sent if sent else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0


def score(path: Path = STORIES) -> Score:
    result = Score()
    for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
        result.stories += 1
        original, *later = story["versions"]
        known = [original["text"]]
        for number, version in enumerate(later, start=2):
            found = novelty(known, version["text"])
            sent, wanted = found.is_update, bool(version["update"])
            if sent:
                known.append(version["text"])
            _count(result, sent, wanted, f"{story['name']} v{number}: {found.new_fact_sentences}")
    return result


def _count(result: Score, sent: bool, wanted: bool, detail: str) -> None:
    if sent and wanted:
        result.true_positive += 1
    elif sent:
        result.false_positive += 1
        result.mistakes.append(f"false update  {detail}")
    elif wanted:
        result.false_negative += 1
        result.mistakes.append(f"missed update {detail}")
    else:
        result.true_negative += 1


def main() -> None:
    result = score()
    versions = (
        result.true_positive + result.false_positive + result.false_negative + result.true_negative
    )
    print(f"{result.stories} stories, {versions} later versions")
    print(
        f"update sent: TP {result.true_positive}  FP {result.false_positive}  "
        f"FN {result.false_negative}  TN {result.true_negative}"
    )
    print(f"precision {result.precision:.3f}  recall {result.recall:.3f}")
    for mistake in result.mistakes:
        print("  " + mistake)


if __name__ == "__main__":
    main()
