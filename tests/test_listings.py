"""What `matches`, `stories`, `alerts` and `status --check` show, on a real SQLite store
filled through the same calls a cycle makes; and the run summary's digest count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import write_config

from pipeline import models as m
from pipeline.alert import deliver
from pipeline.attention import needs_attention
from pipeline.cli import cli
from pipeline.cli.cycles import summary_line
from pipeline.config import DeliverySettings, RuleConfig
from pipeline.database import open_database
from pipeline.display import columns, cut, plural, when
from pipeline.listing import waiting_for_digest
from pipeline.run import CycleSummary
from pipeline.store import PlannedAlert, Store
from pipeline.types import AlertMessage, Article, Match

NOW = datetime.now(UTC).replace(microsecond=0)
LONG_TITLE = "Commerce adds dozens of Chinese chip firms to the Entity List in its widest move yet"


def article(
    url: str, source: str, title: str, published: datetime | None, extra: str = ""
) -> Article:
    text = "The Bureau of Industry and Security added SMIC units to the Entity List. " * 5
    text = extra if extra.startswith("!") else text + extra
    return Article(url, title, text, source, canonical_url=url, published=published)


@pytest.fixture
def filled(tmp_path: Path) -> dict[str, str]:
    """Two outlets carry one story that two rules match (one digest-routed); an older
    story published two days ago was fetched just now."""
    write_config(
        tmp_path / "config",
        feeds=[],
        rules=[{"name": "entity-list", "query": "entity"}, {"name": "smic", "query": "smic"}],
    )
    store = Store(open_database(f"sqlite:///{tmp_path / 'data' / 'wirewatch.db'}"))
    hits = [
        Match("entity-list", 2.0, ("entity",), ("the **Entity List** grows",), ("us",)),
        Match("smic", 1.0, ("smic",), ("units of **SMIC**",)),
    ]
    plans = [
        PlannedAlert("entity-list", "jsonl", "all"),
        PlannedAlert("smic", "jsonl", "all"),
        PlannedAlert("smic", "mail", "daily", mode="digest"),
    ]
    first = article("https://a.example/1", "Reuters", LONG_TITLE, NOW - timedelta(hours=2))
    store.save_article(first, hits, plans, NOW, entities=("bis", "smic"))
    copy = article("https://b.example/1", "FT", LONG_TITLE, NOW - timedelta(hours=1), "More.")
    store.save_article(copy, hits[:1], [], NOW)
    other = "!" + "Other words entirely. " * 40
    old = article("https://c.example/9", "AP", "Old news", NOW - timedelta(days=2), other)
    store.save_article(old, hits[:1], [], NOW)
    return {
        "WIREWATCH_CONFIG": str(tmp_path / "config"),
        "WIREWATCH_DATA_DIR": str(tmp_path / "data"),
    }


def run(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def test_matches_one_entry_per_story_by_published_time(filled: dict[str, str]) -> None:
    out = run(filled, "matches").output
    assert out.count("#1  ") == 1, "one entry per story, with all its rules"
    assert f"{when(NOW - timedelta(hours=1))}  #1  entity-list (2), smic (1)" in out
    assert "FT · https://b.example/1" in out
    assert "entities:" not in out.split("#1")[1].split("\n")[0]
    assert "› the Entity List grows" in out and "**" not in out
    assert "Old news" not in out, "published two days ago, though fetched now"
    assert "Old news" in run(filled, "matches", "--since", "3d").output


def test_matches_json_keeps_one_object_per_rule(filled: dict[str, str]) -> None:
    records = [json.loads(line) for line in run(filled, "matches", "--json").output.splitlines()]
    assert [(r["story"], r["rule"]) for r in records] == [(1, "entity-list"), (1, "smic")]
    assert records[0]["rules"] == ["entity-list", "smic"]
    assert records[0]["published"] == (NOW - timedelta(hours=1)).isoformat()


def test_matches_unknown_rule_is_an_error(filled: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["matches", "--rule", "entity-lst"], env=filled)
    assert result.exit_code == 2 and "no rule named 'entity-lst'" in result.output
    assert "smic (1)" in run(filled, "matches", "--rule", "smic").output


def test_stories_show_url_rules_and_consistent_counts(filled: dict[str, str]) -> None:
    out = run(filled, "stories").output
    assert "2 articles from 2 outlets" in out
    assert "    https://a.example/1" in out
    assert "    outlets: FT, Reuters" in out and "    rules: entity-list, smic" in out
    record = json.loads(run(filled, "stories", "--json").output.splitlines()[-1])
    assert record["articles"] == 2 and record["outlets"] == ["FT", "Reuters"]
    assert record["url"] == "https://a.example/1" and record["rules"] == ["entity-list", "smic"]


def test_alerts_table_is_aligned_with_cut_titles_and_urls(filled: dict[str, str]) -> None:
    lines = run(filled, "alerts").output.splitlines()
    header, rows = lines[0], lines[1:]
    assert header.split() == ["ID", "STATUS", "CHANNEL", "RULE", "CREATED", "TRIES", "TITLE", "URL"]
    assert len({line.index("https://") for line in rows}) == 1, "URL column aligned"
    assert len({line.index(" smic ") if " smic " in line else 0 for line in rows} - {0}) == 1
    assert all("…" in line for line in rows), "the long title is cut with an ellipsis"
    assert "pending (digest)" in lines[1] and "UTC" in lines[1]
    records = [json.loads(line) for line in run(filled, "alerts", "--json").output.splitlines()]
    assert [r["mode"] for r in records] == ["digest", "instant", "instant"]
    assert records[0]["url"] == "https://a.example/1" and records[0]["title"] == LONG_TITLE


def test_delivery_sends_one_message_per_story_and_channel(tmp_path: Path) -> None:
    store = Store(open_database(f"sqlite:///{tmp_path / 'w.db'}"))
    hits = [Match("entity-list", 2.0, ("entity",), ("**Entity**",)), Match("smic", 1.0, ("s",))]
    plans = [PlannedAlert("entity-list", "out", "r"), PlannedAlert("smic", "out", "r")]
    store.save_article(article("https://a.example/1", "Reuters", "T", NOW), hits, plans, NOW)
    sent: list[AlertMessage] = []

    class Recorder:
        name = "out"

        def send(self, message: AlertMessage) -> None:
            sent.append(message)

    rules = [RuleConfig(name="entity-list", query="entity", description="EL", tags=["us"])]
    report = deliver(store, {"out": Recorder()}, DeliverySettings(), lambda: NOW, rules=rules)  # type: ignore[dict-item]
    assert report.sent == 1 and len(sent) == 1
    assert [rule.rule for rule in sent[0].fired] == ["entity-list", "smic"]
    assert sent[0].description == "EL" and sent[0].tags == ("us",)
    assert {a.status for a in store.alerts()} == {"sent"}


def test_run_summary_counts_alerts_waiting_for_a_digest(filled: dict[str, str]) -> None:
    store = Store(open_database(f"sqlite:///{filled['WIREWATCH_DATA_DIR']}/wirewatch.db"))
    waiting = waiting_for_digest(store)
    assert waiting == 1
    line = summary_line(CycleSummary(matches=1, alerts=1), waiting)
    assert line.endswith(
        "1 match, 1 new alert (0 sent, 0 to retry, 0 dead, 1 waiting for a digest)"
    )


def test_status_check_names_problems_and_exits_5(filled: dict[str, str]) -> None:
    assert run(filled, "status", "--check").exit_code == 0
    store = Store(open_database(f"sqlite:///{filled['WIREWATCH_DATA_DIR']}/wirewatch.db"))
    with store.session() as session:  # only the holder of an alert records its outcome
        session.get_one(m.AlertRow, 1).lease_owner = "test"
    store.mark_failed(1, "HTTP 404", retry_at=None, owner="test")
    store.register_worker("host:1", datetime.now(UTC) - timedelta(minutes=30))
    result = CliRunner().invoke(cli, ["status", "--check"], env=filled)
    assert result.exit_code == 5
    assert "needs attention: 1 alert is dead" in result.output
    assert "needs attention: worker host:1 has sent no heartbeat for 3" in result.output
    record = json.loads(CliRunner().invoke(cli, ["status", "--check", "--json"], env=filled).output)
    assert len(record["problems"]) == 2


def test_attention_is_quiet_when_all_is_well() -> None:
    figures = {
        "alerts": {"pending": 3, "sending": 0, "sent": 9, "dead": 0},
        "workers": [
            {
                "worker": "w",
                "started": NOW.isoformat(),
                "heartbeat": NOW.isoformat(),
                "stopped": None,
            }
        ],
    }
    assert needs_attention(figures, NOW + timedelta(minutes=1)) == []


def test_display_helpers() -> None:
    assert plural(1, "rule") == "1 rule" and plural(2, "entity", "entities") == "2 entities"
    assert cut("abcdef", 4) == "abc…" and cut("abc", 4) == "abc"
    assert when(datetime(2026, 3, 4, 9, 15)) == "2026-03-04 09:15 UTC"
    assert columns([("a", "bb", "x"), ("ccc", "d", "y")]) == ["a    bb  x", "ccc  d   y"]


def test_rules_alone_validates_with_singular_counts(tmp_path: Path) -> None:
    write_config(tmp_path / "config", feeds=[], rules=[{"name": "chips", "query": "chip"}])
    env = {"WIREWATCH_CONFIG": str(tmp_path / "config")}
    (tmp_path / "config" / "entities.yaml").write_text(
        "entities:\n  - {id: bis, name: BIS, type: agency, aliases: [BIS]}\n"
    )
    out = run(env, "rules").output
    assert out.endswith("rules.yaml: 1 rule OK (1 entity)\n")
