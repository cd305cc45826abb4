"""What an alert says: exact Slack Block Kit text, the rule's description, entities, the
other outlets with links and tags in every channel, one message per story and channel."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from pipeline.alert.compose import by_story, combine, describe
from pipeline.alert.console import render_text
from pipeline.alert.file import to_json
from pipeline.alert.render import email_alert, slack_alert, slack_digest
from pipeline.config import RuleConfig
from pipeline.store import PendingAlert
from pipeline.types import AlertMessage, DigestMessage, DigestStory, OutletLink

WHEN = datetime(2026, 3, 4, 9, 15, tzinfo=UTC)
RULES = {
    "entity-list": RuleConfig(
        name="entity-list",
        query="x",
        description="Additions to the Entity List",
        tags=["us", "export"],
    ),
    "chips": RuleConfig(name="chips", query="y", tags=["semis"]),
}


def message(rule: str = "entity-list", score: float = 3.5, **changes: object) -> AlertMessage:
    base = AlertMessage(
        key=f"{rule}/7/slack",
        rule=rule,
        title="BIS adds <12> firms & more",
        url="https://example.com/a?x=1",
        source="Reuters",
        score=score,
        published=WHEN,
        highlights=(f"The **{rule}** grows\nagain",),
        terms=(rule,),
        entities=("BIS", "Nvidia"),
        outlet_links=(OutletLink("FT", "https://ft.com/x"),),
        story_id=7,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_slack_alert_blocks_keep_line_breaks_and_carry_everything() -> None:
    both = combine([describe(message(), RULES), describe(message("chips", 1.0), RULES)], "slack")
    fallback, blocks = slack_alert(both)
    assert fallback == (
        "[entity-list+chips] BIS adds &lt;12&gt; firms &amp; more https://example.com/a?x=1"
    )
    assert blocks == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*<https://example.com/a?x=1|BIS adds &lt;12&gt; firms &amp; more>*\n"
                "Reuters · 2026-03-04 09:15 UTC · rules *entity-list*, *chips* · score 3.5\n"
                "_entity-list_: Additions to the Entity List · tags: `us`, `export`\n"
                "_chips_ · tags: `semis`\n"
                "Entities: BIS, Nvidia",
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "> The *entity-list* grows again"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "> The *chips* grows again"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "Also carried by: <https://ft.com/x|FT>"}],
        },
    ]


def test_slack_digest_quotes_evidence_on_its_own_line() -> None:
    story = DigestStory("T1", "https://e.com/1", "Reuters", None, ("a", "b"), 2.0, ("x **y** z",))
    digest = DigestMessage("k", "daily", WHEN, "Europe/Berlin", (story,))
    fallback, blocks = slack_digest(digest)
    assert fallback == "wirewatch digest daily: 1 story"
    assert blocks == [
        {"type": "header", "text": {"type": "plain_text", "text": "wirewatch digest: daily"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "1 story · 2026-03-04 10:15 CET"}],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*<https://e.com/1|T1>*\nReuters · a, b\n> x *y* z"},
        },
    ]


def test_rules_firing_together_make_one_message_led_by_the_best_score() -> None:
    low, high = describe(message("chips", 1.0), RULES), describe(message(), RULES)
    both = combine([low, high], "slack")
    assert both.rule == "entity-list" and both.score == 3.5
    assert [rule.rule for rule in both.fired] == ["entity-list", "chips"]
    assert both.tags == ("us", "export", "semis")
    assert both.key == "entity-list+chips/7/slack"
    assert combine([high], "slack") is high, "a single rule keeps its key"


def test_pending_alerts_group_by_story_and_channel() -> None:
    pending = [
        PendingAlert(1, "slack", 0, message()),
        PendingAlert(2, "email", 0, message()),
        PendingAlert(3, "slack", 0, message("chips")),
        PendingAlert(4, "slack", 0, message("chips", story_id=8)),
    ]
    assert [[p.id for p in group] for group in by_story(pending)] == [[1, 3], [2], [4]]


def test_every_channel_carries_description_entities_outlet_links_and_tags() -> None:
    alert = describe(message(), RULES)
    console = render_text(alert)
    assert "entity-list: Additions to the Entity List (tags: us, export)" in console
    assert "entities: BIS, Nvidia" in console and "FT <https://ft.com/x>" in console
    assert "**" not in console
    record = json.loads(to_json(alert))
    assert record["tags"] == ["us", "export"]
    assert record["description"] == "Additions to the Entity List"
    assert record["entities"] == ["BIS", "Nvidia"]
    assert record["outlet_links"] == [{"outlet": "FT", "url": "https://ft.com/x"}]
    assert record["fired"][0]["rule"] == "entity-list"
    subject, text, html = email_alert(alert)
    assert subject == "[entity-list] BIS adds <12> firms & more"
    assert "entity-list: Additions to the Entity List (tags: us, export)" in text
    assert "Entities: BIS, Nvidia" in text and "  FT: https://ft.com/x" in text
    assert '<a href="https://ft.com/x">FT</a>' in html and "Additions to the Entity List" in html


def test_a_rule_removed_from_rules_yaml_keeps_its_message() -> None:
    alert = describe(message("gone-rule"), RULES)
    assert alert.description == "" and [rule.rule for rule in alert.fired] == ["gone-rule"]
