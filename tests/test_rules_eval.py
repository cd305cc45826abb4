"""The shipped watchlist on a labelled set written for this project (tests/data).

41 stories that must alert (chip export controls, Entity List changes, BIS rules and the
FDPR, chip sales to China, smuggling and enforcement, allied controls, China's
counter-measures) and 66 hard near misses (snack, casino and wood chips; exports of other
goods; China business news; chip reviews and earnings, with China, limits and reviews in
them; market wraps, sanctions and tariff stories that mention chips; BIS the bank, EAR the
rate, H2O). No near miss may alert.
Runs through the real ``wirewatch replay --json``.
"""

import json
from pathlib import Path

from tests.conftest import ROOT, Cli

DATA = ROOT / "tests" / "data" / "rules_eval.jsonl"


def test_default_watchlist_precision_and_recall(cli: Cli) -> None:
    cli.env["WIREWATCH_CONFIG"] = str(ROOT / "config")
    items = [json.loads(line) for line in DATA.read_text().splitlines()]
    assert sum(i["alert"] for i in items) >= 35 and sum(not i["alert"] for i in items) >= 35
    result = cli("replay", str(DATA), "--json")
    assert result.returncode == 0, result.stderr
    predicted = {r["id"]: bool(r["matches"]) for r in map(json.loads, result.stdout.splitlines())}
    truth = {i["id"]: i["alert"] for i in items}
    tp = sum(predicted[k] and truth[k] for k in truth)
    fp = sum(predicted[k] and not truth[k] for k in truth)
    fn = sum(not predicted[k] and truth[k] for k in truth)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    wrong = sorted(k for k in truth if predicted[k] != truth[k])
    print(
        f"\ndefault watchlist on {len(items)} labelled articles: "
        f"precision {precision:.3f}, recall {recall:.3f}; wrong: {wrong or 'none'}"
    )
    assert precision >= 0.95 and recall >= 0.95, wrong
    assert fp == 0, f"near misses alerted: {[k for k in wrong if not truth[k]]}"


def test_each_category_is_caught_by_its_rule(cli: Cli, tmp_path: Path) -> None:
    """Every rule of the watchlist earns its place: each fires on the set."""
    cli.env["WIREWATCH_CONFIG"] = str(ROOT / "config")
    result = cli("rules", "test", str(ROOT / "config" / "rules.yaml"), str(DATA))
    assert result.returncode == 0, result.stderr
    counts = {
        line.split(":")[0]: int(line.split(":")[1].split()[0])
        for line in result.stdout.splitlines()
        if line and not line.startswith((" ", "-")) and "matches" in line
    }
    assert set(counts) == {
        "chip-export-controls",
        "entity-list",
        "bis-rules-and-fdpr",
        "china-chip-sales",
        "third-country-chip-deals",
        "chip-export-legislation",
        "chip-smuggling-enforcement",
        "allied-chip-tool-controls",
        "china-countermeasures",
    }
    assert all(count > 0 for count in counts.values()), counts
