"""End to end through the real CLI: local feeds and pages, real databases."""

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, LocalServer, article_html, hang, rss, write_config

EXPORT_STORY = [
    "The Commerce Department imposed new export controls on advanced AI chips bound for China on Monday.",
    "The rule requires an export licence for accelerators above a performance threshold and covers high-bandwidth memory.",
    "Chipmakers said they were studying the rule, which takes effect in thirty days.",
]
SNACK_STORY = [
    "Snack makers shipped a record volume of potato chips abroad last year.",
    "Growers credited a strong harvest and new distribution deals in Asia for the rise in exports.",
    "The industry association expects another good year despite higher packaging costs.",
]


def farm(server: LocalServer) -> list[dict[str, str]]:
    server.add(
        "/pages/export.html",
        article_html("US tightens AI chip rules", EXPORT_STORY),
        content_type="text/html",
    )
    server.add(
        "/pages/snack.html",
        article_html("Potato chip exports hit record", SNACK_STORY),
        content_type="text/html",
    )
    server.add("/pages/gone.html", "error", status=500, content_type="text/html")
    server.add(
        "/good.xml",
        rss(
            [
                {
                    "title": "US tightens AI chip rules",
                    "link": server.url("/pages/export.html"),
                    "guid": "e1",
                    "summary": "Short teaser.",
                },
                {
                    "title": "Potato chip exports hit record",
                    "link": server.url("/pages/snack.html"),
                    "guid": "s1",
                    "summary": "Snack teaser.",
                },
                {
                    "title": "Commerce adds firms to Entity List",
                    "link": server.url("/pages/gone.html"),
                    "guid": "g1",
                    "summary": "Commerce added nine firms to the Entity List, the department said.",
                },
            ]
        ),
    )
    server.add_handler("/slow.xml", hang(30))
    server.add("/broken.xml", "oops", status=500, content_type="text/plain")
    server.add("/malformed.xml", b"<rss><channel><title>Broken &", content_type="application/xml")
    return [
        {"url": server.url("/good.xml"), "name": "good"},
        {"url": server.url("/slow.xml"), "name": "slow"},
        {"url": server.url("/broken.xml"), "name": "broken"},
        {"url": server.url("/malformed.xml"), "name": "malformed"},
    ]


def alerts_written(data_dir: Path) -> list[dict]:
    path = data_dir / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_run_once_end_to_end(cli: Cli, http_server: LocalServer, db_url: str) -> None:
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=farm(http_server),
        fetch={"read_timeout": 1, "total_timeout": 3},
    )
    cli.env["DATABASE_URL"] = db_url
    data_dir = Path(cli.env["WIREWATCH_DATA_DIR"])
    assert cli("migrate").returncode == 0

    first = cli("run-once")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "4 feeds (1 ok, 3 failed), 3 new articles" in out
    assert "feed failed: slow: timeout" in out
    assert "feed failed: broken: http_5xx: HTTP 500" in out
    assert "feed failed: malformed:" in out

    sent = alerts_written(data_dir)
    by_rule = {(fired["rule"], a["title"]) for a in sent for fired in a["fired"]}
    assert ("chip-export-controls", "US tightens AI chip rules") in by_rule
    assert ("entity-list", "Commerce adds firms to Entity List") in by_rule, (
        "feed text used when the page fails"
    )
    assert not any("Potato" in a["title"] for a in sent)
    export_alert = next(
        a for a in sent if "chip-export-controls" in {f["rule"] for f in a["fired"]}
    )
    assert any("**export licence**" in h for h in export_alert["highlights"]), (
        "page text was extracted"
    )

    second = cli("run-once")
    assert second.returncode == 0
    assert "0 new articles" in second.stdout and "0 new alerts" in second.stdout
    assert len(alerts_written(data_dir)) == len(sent)

    matches = cli("matches", "--json")
    records = [json.loads(line) for line in matches.stdout.splitlines()]
    assert {r["rule"] for r in records} >= {"chip-export-controls", "entity-list"}
    assert all(r["title"] != "Potato chip exports hit record" for r in records)

    feeds = cli("feeds")
    assert "error: HTTP 500" in feeds.stdout and "timeout" in feeds.stdout


def test_quiet_prints_only_problems(cli: Cli, http_server: LocalServer) -> None:
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[
            {
                "url": http_server.add("/ok.xml", rss([{"title": "Nothing", "guid": "n"}])),
                "name": "ok",
            },
            {"url": http_server.add("/bad.xml", "x", status=503), "name": "bad"},
        ],
        fetch={"fetch_pages": False},
    )
    result = cli("run-once", "--quiet")
    assert result.returncode == 0
    assert result.stdout.strip() == "feed failed: bad: http_5xx: HTTP 503 Service Unavailable"


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        (
            "feeds.yaml",
            "feeds:\n  - url: https://x.example/f\n    intervall: 5m\n",
            "feeds[0].intervall: unknown key",
        ),
        (
            "rules.yaml",
            "rules:\n  - name: bad\n    query: '(chips'\n",
            "rules[0] (bad): query: syntax error",
        ),
        ("alerts.yaml", "channels: [\n", "invalid YAML"),
    ],
)
def test_broken_config_is_one_line_and_exit_2(
    cli: Cli, file: str, content: str, expected: str
) -> None:
    config = write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[{"url": "https://x.example/f"}])
    (config / file).write_text(content)
    result = cli("run-once")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wirewatch: error: ") and expected in lines[0]
    assert str(config / file) in lines[0]


def test_unreachable_database_is_one_line_and_exit_3(cli: Cli) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    cli.env["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/none"
    result = cli("run-once")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "database unreachable" in lines[0] and "127.0.0.1:1" in lines[0]


def test_default_database_is_sqlite_in_the_data_dir(cli: Cli) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    result = cli("migrate")
    assert result.returncode == 0
    assert (Path(cli.env["WIREWATCH_DATA_DIR"]) / "wirewatch.db").is_file()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("'(chips AND'", "rules[1] (bad): query: syntax error"),
        ("entity:nvidiaa", "rules[1] (bad): query: unknown entity 'nvidiaa'"),
        ("''", "rules[1] (bad): query: the query is empty"),
        ("'NOT chips'", "rules[1] (bad): query: the query must require at least one term"),
    ],
)
def test_rules_check_names_file_rule_and_problem(cli: Cli, query: str, expected: str) -> None:
    config = write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    (config / "entities.yaml").write_text(
        "entities:\n  - {id: nvidia, name: Nvidia, type: company, aliases: [Nvidia]}\n"
    )
    (config / "rules.yaml").write_text(
        f"rules:\n  - name: good\n    query: entity:nvidia\n  - name: bad\n    query: {query}\n"
    )
    result = cli("rules", "check")
    assert result.returncode == 2
    assert result.stderr.startswith(f"wirewatch: error: {config / 'rules.yaml'}: {expected}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_rules_test_reports_hits_per_rule(cli: Cli, tmp_path: Path) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        "rules:\n  - name: crisps\n    query: potato\n  - name: never\n    query: zebra\n"
    )
    archive = "\n".join(
        json.dumps(item)
        for item in [
            {"id": 1, "title": "Potato prices", "text": "Potato harvest up."},
            {"id": 2, "title": "Other", "text": "Nothing here."},
        ]
    )
    result = cli("rules", "test", str(draft), "-", input=archive)
    assert result.returncode == 0, result.stderr
    assert "2 articles, 1 matched at least one rule" in result.stdout
    assert "crisps: 1 match\n" in result.stdout and "never: 0 matches" in result.stdout
    assert "  - 1: Potato prices" in result.stdout and "› Potato prices" in result.stdout


def test_matches_show_entities(cli: Cli, http_server: LocalServer) -> None:
    feed = http_server.add(
        "/e.xml",
        rss(
            [
                {
                    "title": "Commerce adds SMIC units to the Entity List",
                    "guid": "x",
                    "summary": "The Bureau of Industry and Security added units of SMIC to the Entity List.",
                }
            ]
        ),
    )
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]), feeds=[{"url": feed}], fetch={"fetch_pages": False}
    )
    assert cli("run-once").returncode == 0
    record = json.loads(cli("matches", "--json").stdout.splitlines()[0])
    assert {"smic", "bis", "entity-list"} <= set(record["entities"])
    assert "entities: " in cli("matches").stdout
