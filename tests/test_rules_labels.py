"""``wirewatch rules test RULES ARTICLES --labels LABELS`` through the real CLI, and the
shipped watchlist on the labelled real-feed set (tests/data/real_feed_labels.jsonl, text
from ../shared/corpora/rss-arch; skipped when the corpus is absent)."""

import json
from pathlib import Path

import pytest

from bench.labelled_set import CORPUS, CUTOFF, LABELS, build, read_jsonl, write_jsonl
from tests.conftest import ROOT, Cli

RULES = """
rules:
  - name: exports
    description: chip export controls
    query: '"export control*" AND chip*'
  - name: sales
    description: chip sales to China
    query: 'nvidia AND china AND (sell* OR sale*)'
"""

ARTICLES = [
    {"id": "a", "title": "US widens export controls on AI chips", "text": "New rule."},
    {"id": "b", "title": "Nvidia may sell H20 to China again", "text": "A licence."},
    {"id": "c", "title": "Chip smuggling ring broken up", "text": "Arrests made."},
    {"id": "d", "title": "Export controls on potato chips? No", "text": "A satire."},
    {"id": "e", "title": "Weather turns cold", "text": "Snow."},
]

LABELS_TEXT = """# id, label
{"id": "a", "label": "core"}
{"id": "b", "label": "core"}
{"id": "c", "label": "core"}
{"id": "d", "label": "quiet"}

{"id": "b", "label": "quiet", "rule": "exports"}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    rules, articles, labels = tmp_path / "rules.yaml", tmp_path / "a.jsonl", tmp_path / "l.jsonl"
    rules.write_text(RULES)
    write_jsonl(articles, ARTICLES)
    labels.write_text(LABELS_TEXT)
    return rules, articles, labels


def test_text_report(cli: Cli, files: tuple[Path, Path, Path]) -> None:
    rules, articles, labels = files
    result = cli("rules", "test", str(rules), str(articles), "--labels", str(labels))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "5 articles; labelled: 3 core, 0 related (left out), 1 quiet" in out
    assert "overall: precision 0.667, recall 0.667, F1 0.667 (tp 2, fp 1, fn 1, tn 0)" in out
    assert (
        "false positives (1):\n  - d: Export controls on potato chips? No\n      exports (" in out
    )
    assert (
        "false negatives (1):\n  - c: Chip smuggling ring broken up\n      (no rule matched)" in out
    )


def test_json_report_and_unlabelled_quiet(cli: Cli, files: tuple[Path, Path, Path]) -> None:
    rules, articles, labels = files
    args = ("rules", "test", str(rules), str(articles), "--labels", str(labels), "--json")
    result = cli(*args, "--unlabelled", "quiet")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["overall"] == {
        "tp": 2,
        "fp": 1,
        "fn": 1,
        "tn": 1,
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
    }
    rules_by_name = {row["rule"]: row for row in data["rules"]}
    # b is labelled quiet for "exports" alone; exports never matched it, so a true negative
    assert rules_by_name["exports"]["tp"] == 1 and rules_by_name["exports"]["tn"] == 2
    assert rules_by_name["sales"]["matched"] == 1 and rules_by_name["sales"]["tp"] == 1
    assert [(e["id"], e["rule"]) for e in data["false_positives"]] == [("d", "exports")]
    assert data["false_positives"][0]["evidence"].count("**") >= 2


def test_bad_labels_file_is_one_line_exit_2(cli: Cli, files: tuple[Path, Path, Path]) -> None:
    rules, articles, labels = files
    labels.write_text('{"id": "a", "label": "core"}\n{"id": "b", "label": "yes"}\n')
    result = cli("rules", "test", str(rules), str(articles), "--labels", str(labels))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"wirewatch: error: {labels}:2: \"label\" must be one of core, related, quiet, not 'yes'"
    ]
    missing = cli("rules", "test", str(rules), str(articles), "--labels", str(labels) + ".nope")
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_json_without_labels_is_the_hit_report(cli: Cli, files: tuple[Path, Path, Path]) -> None:
    """``--json`` alone is issue 14's hit report (docs/cli.md), not the evaluation."""
    rules, articles, _ = files
    result = cli("rules", "test", str(rules), str(articles), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"articles", "matched", "invalid", "rules"}


def test_without_labels_the_report_is_unchanged(cli: Cli, files: tuple[Path, Path, Path]) -> None:
    rules, articles, _ = files
    result = cli("rules", "test", str(rules), str(articles))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("5 articles, 3 matched at least one rule\n\nexports: 2 matches")


def test_the_stored_labels_hold_ids_and_labels_only() -> None:
    rows = list(read_jsonl(LABELS))
    assert all(set(row) == {"feed", "guid", "published", "label"} for row in rows)
    assert all(row["label"] in ("core", "related") for row in rows)
    assert len({(row["feed"], row["guid"]) for row in rows}) == len(rows)
    core = sorted(row["published"] for row in rows if row["label"] == "core")
    held_out = [published for published in core if published >= CUTOFF]
    assert len(core) >= 30 and len(core) // 4 <= len(held_out) <= len(core) // 2


@pytest.mark.skipif(not CORPUS.is_file(), reason=f"corpus not found: {CORPUS}")
@pytest.mark.parametrize("part", ["tune", "heldout"])
def test_shipped_watchlist_on_the_real_feed_set(cli: Cli, tmp_path: Path, part: str) -> None:
    """Core recall >= 0.9 and false alarms on quiet items <= 0.2 %, on each date part."""
    articles, labels = build(read_jsonl(CORPUS), read_jsonl(LABELS), part)
    write_jsonl(tmp_path / "articles.jsonl", articles)
    write_jsonl(tmp_path / "labels.jsonl", labels)
    cli.env["WIREWATCH_CONFIG"] = str(ROOT / "config")
    result = cli(
        "rules",
        "test",
        str(ROOT / "config" / "rules.yaml"),
        str(tmp_path / "articles.jsonl"),
        "--labels",
        str(tmp_path / "labels.jsonl"),
        "--json",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    overall, quiet = data["overall"], data["labelled"]["quiet"]
    false_alarm_rate = overall["fp"] / quiet
    missed = [e["title"] for e in data["false_negatives"]]
    alarms = [(e["title"], e["rule"]) for e in data["false_positives"]]
    print(f"\n{part}: recall {overall['recall']}, false alarms {overall['fp']}/{quiet}; {missed=}")
    assert overall["recall"] >= 0.9, missed
    assert false_alarm_rate <= 0.002, alarms
