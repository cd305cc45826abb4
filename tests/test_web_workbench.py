"""The rule workbench: full-text pre-selection, preview against the saved rule, labels
and precision/recall, saving rules.yaml in place, and workers picking the save up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipeline.config import RuleConfig
from pipeline.errors import ConfigError
from pipeline.match import RuleSet, compile_query
from pipeline.replay import parse_item
from pipeline.types import Article
from pipeline.web.accounts import set_label
from pipeline.web.app import create_app
from pipeline.web.evaluate import LabelRecord, evaluate, labels_for_rule, labels_jsonl
from pipeline.web.fulltext import fts5_query, necessary_groups, tsquery
from pipeline.web.rules_file import save_rule
from tests.conftest import ROOT, Cli, LocalServer, rss, write_config
from tests.test_worker import _wait_for
from tests.web_helpers import NOW, PASSWORD, RULES_YAML, DeskData

pytest_plugins = ["tests.web_helpers"]  # the desk fixtures


def analyst(desk: DeskData) -> tuple[TestClient, str]:
    client = TestClient(create_app(desk.store, desk.config_dir, "k", clock=lambda: NOW))
    client.post("/login", data={"name": "analyst", "password": PASSWORD})
    page = client.get("/rules/new").text
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --------------------------------------------------------------------------- pure parts


def test_necessary_groups_become_index_queries() -> None:
    node = compile_query('("export control*" OR licen*) AND (chip* OR GPU) AND NOT weather')
    groups = necessary_groups(node)
    assert groups == [frozenset({("export", False), ("licen", True)}),
                      frozenset({("chip", True), ("gpu", False)})]  # fmt: skip
    assert fts5_query(groups) == '("export" OR "licen"*) AND ("chip"* OR "gpu" OR "g p u")'
    assert tsquery(groups) == "('export' | 'licen':*) & ('chip':* | 'gpu' | ('g' <-> 'p' <-> 'u'))"


def test_source_only_terms_give_the_index_nothing_to_narrow() -> None:
    assert necessary_groups(compile_query("source:reuters")) == []
    assert necessary_groups(compile_query("source:reuters AND chip*")) == [
        frozenset({("chip", True)})
    ]
    assert necessary_groups(compile_query("chip* OR source:reuters")) == []


def test_evaluation_counts_core_and_quiet_and_leaves_related_out() -> None:
    labels = [
        LabelRecord(1, "core"), LabelRecord(2, "quiet"), LabelRecord(3, "related"),
        LabelRecord(4, "core"), LabelRecord(2, "core", "r"), LabelRecord(5, "quiet", "other"),
    ]  # fmt: skip
    chosen = labels_for_rule(labels, "r")
    assert chosen == {1: "core", 2: "core", 3: "related", 4: "core"}
    result = evaluate("r", matched=[1, 3, 6], labels=chosen)
    assert result.true_positives == (1,) and result.false_positives == ()
    assert result.false_negatives == (2, 4) and result.precision == 1.0
    assert result.recall == pytest.approx(1 / 3)
    watchlist = evaluate("x", [1, 2], labels_for_rule(labels, "x"))
    assert watchlist.precision == 0.5 and watchlist.false_positives == (2,)
    assert evaluate("y", [], {}).precision is None


def test_labels_export_matches_the_rules_test_format() -> None:
    text = labels_jsonl([LabelRecord(7, "core"), LabelRecord(8, "quiet", "entity-list")])
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines == [{"id": "7", "label": "core"},
                     {"id": "8", "label": "quiet", "rule": "entity-list"}]  # fmt: skip


# --------------------------------------------------------------------------- the index


def test_full_text_index_follows_inserts_updates_and_prunes(desk: DeskData) -> None:
    client, csrf = analyst(desk)
    ask = lambda query: {  # noqa: E731
        m["title"]
        for m in client.post("/api/rules/preview", json={"query": query, "days": 30},
                             headers={"X-CSRF-Token": csrf}).json()["matches"]
    }  # fmt: skip
    assert ask("appeal") == {"Alpha Semi placed on Entity List by Commerce"}
    article = Article(url="https://wire-f.example/us-rule", title="U.S. widens rule",
                      text="The U.S. Commerce Department widened the zebra rule.", source="F")  # fmt: skip
    desk.store.save_article(article, [], [], NOW)
    assert ask("zebra") == {"U.S. widens rule"}, "new articles are indexed"
    assert ask("US AND zebra") == {"U.S. widens rule"}, "dotted abbreviations are found"
    desk.store.prune(NOW + __import__("datetime").timedelta(days=1))
    assert ask("zebra") == set(), "pruned text is out of the index"


def test_preview_equals_running_the_rule_on_every_article(desk: DeskData) -> None:
    """The index only narrows: the preview finds exactly what a full scan finds."""
    client, csrf = analyst(desk)
    queries = ['"Entity List"', 'chip* AND NOT tariff*', '"export control*"~3 OR appeal',
               'title:chip*', 'source:"Wire E" AND chip*']  # fmt: skip
    from pipeline.web.preview import load_articles

    with desk.store.session() as session:
        from sqlalchemy import select

        from pipeline import models as m

        everything = load_articles(session, list(session.scalars(select(m.Article.id))))
    for query in queries:
        ruleset = RuleSet.from_config([RuleConfig(name="q", query=query)])
        expected = {i.id for i in everything if ruleset.analyse(i.article).matches}
        body = client.post("/api/rules/preview", json={"query": query, "days": 30},
                           headers={"X-CSRF-Token": csrf}).json()  # fmt: skip
        assert {m["article_id"] for m in body["matches"]} == expected, query


# --------------------------------------------------------------------------- workbench


def test_draft_preview_shows_new_and_lost_against_the_saved_rule(desk: DeskData) -> None:
    client, csrf = analyst(desk)
    fragment = client.post(
        "/rules/preview",
        data={"csrf_token": csrf, "name": "chip-exports", "query": "chip* AND tariff*", "days": 30},
        headers={"HX-Request": "true"},
    ).text  # fmt: skip
    assert '<strong id="match-count">1</strong>' in fragment
    assert "+0" in fragment and "−1" in fragment, "export-controls article lost, tariffs kept"
    assert "New export controls on chips announced" in fragment, "the lost one is listed"
    assert not fragment.lstrip().startswith("<!doctype"), "htmx gets a fragment"
    page = client.post("/rules/preview", data={"csrf_token": csrf, "name": "chip-exports",
                                               "query": "(chip*", "days": 30}).text  # fmt: skip
    assert page.lstrip().startswith("<!doctype") and "syntax error" in page, "works without JS"


def test_labels_change_precision_and_recall(desk: DeskData) -> None:
    client, csrf = analyst(desk)
    ids = desk.article_ids
    form = {"csrf_token": csrf, "name": "entity-list", "query": '"Entity List"', "days": 30}

    def evaluation() -> tuple[str, str]:
        page = client.post("/rules/preview", data=form, headers={"HX-Request": "true"}).text
        found = re.search(r'id="precision">([^<]+)<.*?id="recall">([^<]+)<', page, re.S)
        return found.group(1), found.group(2)

    assert evaluation() == ("–", "–")
    for url, label, rule in [
        ("https://wire-a.example/entity-list-adds", "core", "entity-list"),
        ("javascript:alert(document.cookie)", "quiet", ""),
    ]:
        client.post("/labels", headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
                    data={"article_id": ids[url], "rule": rule, "label": label})  # fmt: skip
    assert evaluation() == ("0.50", "1.00")
    client.post("/labels", headers={"X-CSRF-Token": csrf},
                data={"article_id": ids["https://wire-c.example/new-export-controls"],
                      "rule": "entity-list", "label": "core"})  # fmt: skip
    assert evaluation() == ("0.50", "0.50"), "a false negative lowers recall"
    rules_page = client.get("/rules").text
    assert "0.50" in rules_page
    exported = client.get("/labels.jsonl").text.splitlines()
    assert len(exported) == 3 and all(json.loads(line)["id"].isdigit() for line in exported)
    articles = [parse_item(line) for line in client.get("/articles.jsonl").text.splitlines()]
    assert sorted(i for i, _ in articles) == sorted(json.loads(x)["id"] for x in exported)
    assert len(client.get("/articles.jsonl?days=30").text.splitlines()) == len(ids)


def test_story_label_labels_each_article(desk: DeskData) -> None:
    client, csrf = analyst(desk)
    first = desk.article_ids["https://wire-a.example/entity-list-adds"]
    story = client.get(
        f"/api/stories/{client.get('/api/matches').json()['stories'][1]['story_id']}"
    )
    story_id = story.json()["id"]
    response = client.post("/labels", data={"csrf_token": csrf, "story_id": story_id,
                                            "label": "core", "rule": ""})  # fmt: skip
    assert response.status_code == 200
    labelled = [json.loads(line) for line in client.get("/labels.jsonl").text.splitlines()]
    assert len(labelled) == len(story.json()["articles"]) >= 1
    assert first in {int(x["id"]) for x in labelled} or story_id != 1
    with pytest.raises(ConfigError, match="unknown label"):
        set_label(desk.store, first, "", "maybe", "analyst", NOW)


def test_save_keeps_comments_and_refuses_a_bad_rule(desk: DeskData) -> None:
    client, csrf = analyst(desk)
    path = desk.config_dir / "rules.yaml"
    saved = client.post("/rules/save", data={"csrf_token": csrf, "name": "chip-exports",
                                             "query": "chip* AND tariff*", "days": 30},
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"].startswith("/rules/chip-exports")
    text = path.read_text()
    assert "# Test watchlist (this comment must survive" in text
    assert "# keep this comment too" in text and "# listings on the Entity List" in text
    assert "query: 'chip* AND tariff*'" in text and "export control" not in text
    new = client.post("/rules/save", data={"csrf_token": csrf, "name": "new-rule",
                                           "query": "zebra* OR giraffe*"})  # fmt: skip
    assert new.status_code == 200 and "new-rule" in path.read_text()
    before = path.read_text()
    bad = client.post("/rules/save", data={"csrf_token": csrf, "name": "entity-list",
                                           "query": '("Entity List"'})  # fmt: skip
    assert bad.status_code == 422
    checked = subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(desk.config_dir), "rules", "check",
         str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0 and path.read_text() == before, "the file was left alone"
    with pytest.raises(ConfigError) as caught:
        save_rule(path, "entity-list", '("Entity List"')
    assert str(caught.value).startswith(f"{path}: rules[0] (entity-list): query: syntax error")
    page_error = re.search(r'id="save-error">([^<]+)<', bad.text).group(1)
    assert page_error == str(caught.value).replace('"', "&#34;")
    assert not list(desk.config_dir.glob(".rules.yaml*")), "no temporary file left"


def test_rules_file_stays_valid_yaml_for_long_queries(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_YAML)
    long_query = " OR ".join(f'"phrase number {i}"' for i in range(12))
    save_rule(path, "entity-list", long_query)
    from pipeline.config import load_rules_file

    rules = {rule.name: rule.query for rule in load_rules_file(path).rules}
    assert rules["entity-list"] == long_query and rules["chip-exports"].startswith('"export')


# --------------------------------------------------------------------------- workers


def test_running_worker_picks_up_a_saved_rule_without_sighup(
    cli: Cli, http_server: LocalServer, tmp_path: Path
) -> None:
    feed = http_server.add(
        "/z.xml",
        rss(
            [
                {
                    "title": "Zebra news",
                    "guid": "z1",
                    "summary": "Zebras crossed.",
                    "link": "https://zoo.example/z1",
                }
            ]
        ),
    )
    config = write_config(
        Path(cli.env["WIREWATCH_CONFIG"]), feeds=[{"url": feed, "interval": "1s"}],
        rules=[{"name": "spuds", "query": "potato*"}], fetch={"fetch_pages": False},
    )  # fmt: skip
    alerts = Path(cli.env["WIREWATCH_DATA_DIR"]) / "alerts.jsonl"
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "pipeline", "worker"], env=cli.env,
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log_file)  # fmt: skip
    try:
        # the feed's first item is stored before the rule exists ...
        assert _wait_for(lambda: "1 new articles" in log_path.read_text()), log_path.read_text()
        (config / "alerts.yaml").write_text((config / "alerts.yaml").read_text())
        save_rule(config / "rules.yaml", "stripes", "zebra*")
        # ... the worker notices the saved file on its own (no SIGHUP) ...
        assert _wait_for(lambda: "config reloaded" in log_path.read_text()), log_path.read_text()
        # ... and a new item arriving after the save alerts under the new rule
        http_server.add("/z.xml", rss([{"title": "More zebra news", "guid": "z2",
                                        "summary": "Zebras again.", "link": "https://zoo.example/z2"}]))  # fmt: skip
        assert _wait_for(lambda: alerts.exists() and "stripes" in alerts.read_text()), (
            log_path.read_text()
        )
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_a_broad_draft_stops_at_the_time_budget_and_says_so(desk: DeskData) -> None:
    from pipeline.web import preview as preview_module

    ruleset = preview_module.compile_pair("Commerce OR chip* OR weather", None, [])
    ticks = iter(range(1000))
    since = NOW - __import__("datetime").timedelta(days=30)
    complete = preview_module.preview(desk.store.engine, ruleset, since)
    assert not complete.truncated and complete.checked == complete.candidates == 5
    original = preview_module.CHUNK
    preview_module.CHUNK = 2
    try:
        partial = preview_module.preview(
            desk.store.engine, ruleset, since, clock=lambda: float(next(ticks)), budget=0.5
        )
    finally:
        preview_module.CHUNK = original
    assert partial.truncated and partial.checked == 2 and partial.candidates == 5
    newest = sorted(complete.matches, key=lambda m: m.article_id, reverse=True)[:2]
    assert [m.article_id for m in partial.matches] == [m.article_id for m in newest]
    assert partial.checked_back_to == newest[-1].stored_at
