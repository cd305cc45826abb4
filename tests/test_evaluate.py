"""The labelled evaluation (pipeline/evaluate.py) on small hand-made inputs: no I/O."""

import pytest

from pipeline.evaluate import (
    Figures,
    Label,
    LabelsError,
    Prediction,
    RuleHit,
    evaluate,
    parse_labels,
    render,
)

RULES = ["exports", "sales"]


def predictions() -> list[Prediction]:
    return [
        Prediction("a", "Export curbs on chips", (RuleHit("exports", 4.5, "**Export curbs**"),)),
        Prediction("b", "Nvidia may sell to China", (RuleHit("sales", 3.0, "**sell**"),)),
        Prediction("c", "Chip smuggling ring", ()),
        Prediction("d", "Potato chip exports", (RuleHit("exports", 3.0, "**chip exports**"),)),
        Prediction("e", "Rare earth curbs", (RuleHit("exports", 1.0, "curbs"),)),
        Prediction("f", "Weather", ()),
    ]


def test_figures() -> None:
    figures = Figures(tp=3, fp=1, fn=1, tn=5)
    assert figures.precision == 0.75 and figures.recall == 0.75 and figures.f1 == 0.75
    assert Figures(fn=2).precision is None and Figures(fn=2).recall == 0.0
    assert Figures(fn=2).f1 is None
    assert Figures(fp=1, fn=1).f1 == 0.0


def test_watchlist_labels_core_positive_quiet_negative_related_left_out() -> None:
    labels = [
        Label("a", "core"),
        Label("b", "core"),
        Label("c", "core"),
        Label("d", "quiet"),
        Label("e", "related"),
        Label("f", "quiet"),
    ]
    result = evaluate(predictions(), labels, RULES)
    assert result.overall == Figures(tp=2, fp=1, fn=1, tn=1)
    assert result.labelled == {"core": 3, "related": 1, "quiet": 2}
    assert [(e.id, e.rule, e.score) for e in result.false_positives] == [("d", "exports", 3.0)]
    assert [(e.id, e.rule, e.score) for e in result.false_negatives] == [("c", None, None)]
    # per rule, against the watchlist-wide labels: its share of the core items
    assert result.rules["exports"] == Figures(tp=1, fp=1, fn=2, tn=1)
    assert result.rules["sales"] == Figures(tp=1, fp=0, fn=2, tn=2)
    assert result.matched == {"exports": 3, "sales": 1}


def test_unlabelled_articles_are_ignored_unless_counted_quiet() -> None:
    labels = [Label("a", "core"), Label("c", "core")]
    ignored = evaluate(predictions(), labels, RULES)
    assert ignored.overall == Figures(tp=1, fn=1)
    quiet = evaluate(predictions(), labels, RULES, unlabelled_quiet=True)
    assert quiet.overall == Figures(tp=1, fp=3, fn=1, tn=1)
    assert quiet.labelled["quiet"] == 4


def test_rule_labels_are_about_that_rule_only() -> None:
    labels = [
        Label("a", "core", "exports"),
        Label("b", "quiet", "sales"),
        Label("c", "core", "sales"),
        Label("d", "related", "exports"),
    ]
    result = evaluate(predictions(), labels, RULES)
    assert result.overall == Figures()  # no watchlist-wide label
    assert result.rules["exports"] == Figures(tp=1)
    assert result.rules["sales"] == Figures(fp=1, fn=1)
    assert [(e.id, e.rule) for e in result.false_positives] == [("b", "sales")]
    assert [(e.id, e.rule) for e in result.false_negatives] == [("c", "sales")]


def test_a_rule_label_overrides_the_watchlist_label_for_that_rule() -> None:
    labels = [Label("d", "quiet"), Label("d", "core", "exports")]
    result = evaluate(predictions(), labels, RULES)
    assert result.overall == Figures(fp=1)
    assert result.rules["exports"] == Figures(tp=1)
    assert result.rules["sales"] == Figures(tn=1)


def test_labels_for_unknown_articles_and_rules_are_reported() -> None:
    labels = [Label("zzz", "core"), Label("a", "core", "no-such-rule")]
    result = evaluate(predictions(), labels, RULES)
    assert result.unknown_ids == 1
    assert result.notes == (
        "labels for rule 'no-such-rule' are ignored: no such rule in the rules file",
    )


def test_json_shape() -> None:
    result = evaluate(predictions(), [Label("a", "core"), Label("d", "quiet")], RULES)
    data = result.to_dict()
    assert set(data) == {
        "articles",
        "labelled",
        "unknown_ids",
        "overall",
        "rules",
        "false_positives",
        "false_negatives",
    }
    assert data["overall"] == {
        "tp": 1,
        "fp": 1,
        "fn": 0,
        "tn": 0,
        "precision": 0.5,
        "recall": 1.0,
        "f1": 0.6667,
    }
    assert data["rules"][0] == {"rule": "exports", "matched": 3, **data["overall"]}
    assert data["rules"][1]["precision"] is None
    assert data["false_positives"] == [
        {
            "id": "d",
            "title": "Potato chip exports",
            "rule": "exports",
            "score": 3.0,
            "evidence": "**chip exports**",
        }
    ]


def test_text_report_lists_errors_with_rule_score_and_evidence() -> None:
    text = render(evaluate(predictions(), [Label("c", "core"), Label("d", "quiet")], RULES))
    assert "overall: precision 0.000, recall 0.000" in text
    assert "  - d: Potato chip exports\n      exports (3.0) › **chip exports**" in text
    assert "  - c: Chip smuggling ring\n      (no rule matched)" in text


def test_parse_labels_skips_blank_and_comment_lines() -> None:
    lines = [
        "# labels for the test\n",
        "\n",
        '{"id": "a", "label": "core"}\n',
        '{"id": "a", "label": "quiet", "rule": "sales"}\n',
        '{"id": 7, "label": "related"}\n',
    ]
    assert parse_labels(lines, "labels.jsonl") == [
        Label("a", "core", None, 3),
        Label("a", "quiet", "sales", 4),
        Label("7", "related", None, 5),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "labels.jsonl:2: invalid JSON"),
        ("[1, 2]", "labels.jsonl:2: expected a JSON object"),
        ('{"label": "core"}', 'labels.jsonl:2: "id" must be a non-empty string'),
        ('{"id": "b", "label": "maybe"}', 'labels.jsonl:2: "label" must be one of core, related'),
        ('{"id": "b", "label": "core", "rule": 3}', 'labels.jsonl:2: "rule" must be a rule name'),
        (
            '{"id": "a", "label": "quiet"}',
            "labels.jsonl:2: id 'a' is labelled twice (first on line 1)",
        ),
    ],
)
def test_parse_labels_errors_name_file_and_line(line: str, message: str) -> None:
    with pytest.raises(LabelsError) as error:
        parse_labels(['{"id": "a", "label": "core"}', line], "labels.jsonl")
    assert str(error.value).startswith(message)
