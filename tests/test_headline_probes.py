"""The shipped watchlist on bare headlines (tests/data/headline_probes.jsonl).

Headlines written for this project in five batches (docs/labelled-set.md, "Headline
probes"): a headline alone, with no summary, is the hardest input the watchlist gets.
Batches a-d were used to widen the rules; batch e was written before the last change and
measured once, as the held-out figure. Runs through the real ``rules test --labels``.
"""

import json
from pathlib import Path

from tests.conftest import ROOT, Cli

DATA = ROOT / "tests" / "data" / "headline_probes.jsonl"
TUNING_RECALL = 0.95
"""Measured 96/101 when the rules were last changed."""
HELD_OUT_RECALL = 0.75
"""Measured 22/29 on batch e (16/29 before the rules were widened)."""


def _probes() -> list[dict]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]


def test_headlines_alert_without_a_summary_and_near_misses_stay_quiet(
    cli: Cli, tmp_path: Path
) -> None:
    probes = _probes()
    articles, labels = tmp_path / "articles.jsonl", tmp_path / "labels.jsonl"
    articles.write_text(
        "".join(json.dumps({"id": p["id"], "title": p["title"], "text": ""}) + "\n" for p in probes)
    )
    labels.write_text(
        "".join(json.dumps({"id": p["id"], "label": p["label"]}) + "\n" for p in probes)
    )
    cli.env["WIREWATCH_CONFIG"] = str(ROOT / "config")
    result = cli(
        "rules", "test", str(ROOT / "config" / "rules.yaml"), str(articles),
        "--labels", str(labels), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    assert report["false_positives"] == [], "a near miss alerted"
    missed = {item["id"] for item in report["false_negatives"] if item["rule"] is None}
    core = [p for p in probes if p["label"] == "core"]
    tuning = [p["id"] for p in core if p["batch"] != "e"]
    held_out = [p["id"] for p in core if p["batch"] == "e"]
    assert len(tuning) >= 90 and len(held_out) >= 25
    tuning_recall = 1 - len(missed.intersection(tuning)) / len(tuning)
    held_out_recall = 1 - len(missed.intersection(held_out)) / len(held_out)
    print(f"\nheadline probes: tuning recall {tuning_recall:.3f}, held-out {held_out_recall:.3f}")
    assert tuning_recall >= TUNING_RECALL, sorted(missed.intersection(tuning))
    assert held_out_recall >= HELD_OUT_RECALL, sorted(missed.intersection(held_out))
