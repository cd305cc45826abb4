"""The knowledge base against real databases, the ``kb`` commands, and the pipeline:
list changes as alerts, listed parties in the news, the Federal Register feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pipeline.config import RouteConfig
from pipeline.database import make_engine, migrate
from pipeline.kb.formats import KbFormatError
from pipeline.kb.service import load_list
from pipeline.kb.store import KbStore
from pipeline.store import Store
from tests.conftest import Cli, LocalServer, rss, write_config
from tests.test_kb import fr_document

DATA = Path(__file__).parent / "data" / "kb"
T1 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=1)
T3 = T2 + timedelta(days=1)
ROUTES = [
    RouteConfig(name="by-name", rules=["kb:entity-list-added"], channels=["a"]),
    RouteConfig(name="everything", rules=["*"], channels=["b"]),
    RouteConfig(name="by-tag", rules=[], tags=["list-change"], channels=["c"]),
    RouteConfig(name="elsewhere", rules=["chips"], channels=["d"]),
]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    engine = make_engine(db_url)
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def load(store: Store, name: str, when: datetime, **options: bool) -> object:
    return load_list(store, (DATA / name).read_bytes(), name, ROUTES, when, **options)


def test_parties_keep_first_and_last_seen_and_removals(store: Store) -> None:
    first = load(store, "csl.json", T1)
    assert first.baseline and first.report.added == 36 and first.changes == ()
    second = load(store, "csl_v2.csv", T2)
    assert (second.report.added, second.report.removed) == (1, 1)
    kb = KbStore(store)
    (corad,) = kb.search("corad")
    assert (corad.first_seen_at, corad.last_seen_at, corad.removed_at) == (T1, T1, T2)
    (huawei,) = kb.search("华为")
    assert (huawei.first_seen_at, huawei.last_seen_at, huawei.removed_at) == (T1, T2, None)
    third = load(store, "csl.json", T3)
    assert (third.report.returned, third.report.removed) == (1, 1)
    (corad,) = kb.search("Corad Technology")
    assert corad.removed_at is None and corad.last_seen_at == T3
    status = kb.status()
    assert status.lists["Entity List (EL) - Bureau of Industry and Security"] == 28
    assert status.removed == 1 and status.last_update == T3 and status.last_origin == "csl.json"


def test_list_changes_become_alerts_routed_like_rules_once(store: Store) -> None:
    load(store, "csl.json", T1)
    assert store.alerts() == []
    load(store, "csl_v2.csv", T2)
    routed = sorted((alert.rule, alert.channel) for alert in store.alerts())
    assert routed == [
        ("kb:entity-list-added", "a"),
        ("kb:entity-list-added", "b"),
        ("kb:entity-list-added", "c"),
        ("kb:entity-list-removed", "b"),
        ("kb:entity-list-removed", "c"),
    ]
    again = load(store, "csl_v2.csv", T3)
    assert again.changes == () and len(store.alerts()) == 5
    claimed = store.claim_alerts("test", T3, timedelta(minutes=1), 10)
    added = next(a.message for a in claimed if a.message.rule == "kb:entity-list-added")
    assert added.title.startswith("Entity List: 1 party added to the list (Beijing Zhipu")
    assert added.highlights == (
        "Beijing Zhipu Huazhang Technology Co., Ltd. (CN) — Entity List since 2025-01-16, "
        "90 FR 4626; also Zhipu AI, 智谱",
    )


def test_a_much_shorter_file_is_refused_unless_forced(store: Store, tmp_path: Path) -> None:
    load(store, "csl.json", T1)
    few = json.loads((DATA / "csl.json").read_text())
    few["results"] = few["results"][:5]
    path = tmp_path / "few.json"
    path.write_text(json.dumps(few))
    with pytest.raises(KbFormatError, match="5 parties against 36 stored"):
        load_list(store, path.read_bytes(), "few.json", ROUTES, T2)
    forced = load_list(store, path.read_bytes(), "few.json", ROUTES, T2, force=True)
    assert forced.report.removed == 31


# --------------------------------------------------------------------------- commands


def alerts_written(cli: Cli) -> list[dict[str, object]]:
    path = Path(cli.env["WIREWATCH_DATA_DIR"]) / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_kb_commands_import_status_search_and_alert(cli: Cli) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[], rules=[])
    first = cli("kb", "import", str(DATA / "csl.json"))
    assert first.returncode == 0, first.stderr
    assert "loaded 36 parties" in first.stdout and "first load" in first.stdout
    second = cli("kb", "import", str(DATA / "csl_v2.csv"))
    assert "kb:entity-list-added: 1" in second.stdout, second.stderr
    rules = sorted(alert["rule"] for alert in alerts_written(cli))
    assert rules == ["kb:entity-list-added", "kb:entity-list-removed"]
    status = json.loads(cli("kb", "status", "--json").stdout)
    assert status["removed"] == 1 and sum(status["lists"].values()) == 36
    found = cli("kb", "search", "hikvision").stdout
    assert "Hangzhou Hikvision Digital Technology Co., Ltd. — Entity List since 2019-10-09" in found


def test_kb_import_of_a_bad_file_is_one_line_without_traceback(cli: Cli, tmp_path: Path) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[], rules=[])
    missing = cli("kb", "import", str(tmp_path / "none.json"))
    assert missing.returncode == 1
    assert (
        missing.stderr.startswith("wirewatch: error: ")
        and "none.json: cannot read" in missing.stderr
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = cli("kb", "import", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "no column source, name" in result.stderr


def test_kb_update_downloads_from_the_configured_url(cli: Cli, http_server: LocalServer) -> None:
    config = write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[], rules=[])
    url = http_server.add(
        "/csl.json", (DATA / "csl.json").read_bytes(), content_type="application/json"
    )
    (config / "settings.yaml").write_text(yaml.safe_dump({"kb": {"url": url}}))
    result = cli("kb", "update")
    assert result.returncode == 0, result.stderr
    assert f"loaded 36 parties from {url}" in result.stdout
    missing = cli("kb", "update", "--url", http_server.url("/gone.json"))
    assert missing.returncode == 1 and "not_found" in missing.stderr


def test_kb_update_keeps_the_fetcher_address_guard(cli: Cli, http_server: LocalServer) -> None:
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[],
        rules=[],
        fetch={"allow_private_networks": False},
    )
    url = http_server.add("/csl.json", (DATA / "csl.json").read_bytes())
    result = cli("kb", "update", "--url", url)
    assert result.returncode == 1 and "blocked_address" in result.stderr


# --------------------------------------------------------------------------- the pipeline


def test_listed_party_in_the_news_alert_shows_the_listing(
    cli: Cli, http_server: LocalServer
) -> None:
    item = {
        "title": "Hikvision wins a city contract",
        "link": http_server.url("/a1"),
        "guid": "a1",
        "description": "The camera maker Hikvision won a surveillance contract in Serbia.",
    }
    feed = http_server.add("/feed.xml", rss([item]))
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": feed}],
        rules=[{"name": "listed-in-news", "query": "entity:listed"}],
        fetch={"fetch_pages": False},
    )
    assert cli("kb", "import", str(DATA / "csl.json")).returncode == 0
    run = cli("run-once")
    assert run.returncode == 0, run.stderr
    (alert,) = alerts_written(cli)
    assert alert["rule"] == "listed-in-news"
    assert (
        'Listed: Hangzhou Hikvision Digital Technology Co., Ltd. (as "Hikvision") — '
        "Entity List since 2019-10-09, 84 FR 54002" in alert["highlights"]
    )


def test_federal_register_feed_gives_typed_articles(cli: Cli, http_server: LocalServer) -> None:
    documents = [
        fr_document("2025-00798", "Rule", abstract="Adds Sophgo Technologies Ltd. to the list."),
        fr_document("2025-00801", "Proposed Rule", abstract="Asks for comments on 3A090."),
    ]
    body = json.dumps({"count": 2, "results": documents})
    feed = http_server.add("/api/v1/documents.json", body, content_type="application/json")
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": feed, "type": "federal_register", "name": "Federal Register"}],
        rules=[{"name": "final-rules", "query": "doctype:rule"}],
        fetch={"fetch_pages": False},
    )
    run = cli("run-once")
    assert run.returncode == 0, run.stderr
    (alert,) = alerts_written(cli)
    assert alert["title"] == "Additions to the Entity List (2025-00798)"
    assert alert["source"] == "Federal Register"
    assert alert["published"].startswith("2025-01-16")
    listed = json.loads(cli("matches", "--json", "--since", "30000d").stdout.splitlines()[0])
    assert listed["rule"] == "final-rules"
