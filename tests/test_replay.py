"""The ``replay --json`` contract: one valid JSON object per input line, in input order."""

import json
from pathlib import Path

from sqlalchemy import create_engine, func, select

from pipeline import models as m
from pipeline.database import normalise_database_url
from tests.conftest import Cli, write_config

BODY = " ".join(f"filler{i}" for i in range(60))
OTHER = " ".join(f"other{i}" for i in range(60))
ITEMS = [
    {
        "id": "a",
        "title": "Commerce adds 12 firms to Entity List",
        "text": f"The additions target chip suppliers. {BODY}",
        "url": "https://wire.example/entity?utm_source=rss",
    },
    {"id": "b", "title": "Potato chip sales rise", "text": f"Crisps are popular. {OTHER} snacks"},
    {
        "id": "c",
        "title": "Entity List grows (syndicated)",
        "text": f"The additions target chip suppliers. {BODY}",
        "url": "https://other.example/copy",
    },
    {
        "id": "d",
        "title": "Same URL again",
        "text": "different text",
        "url": "https://wire.example/entity#top",
    },
    {
        "id": 5,
        "title": "Numeric ids are kept",
        "text": "H20 shipments to China resume after licence granted by Nvidia",
    },
]


def run(cli: Cli, lines: list[str], *args: str):
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    return cli("replay", "-", "--json", *args, input="\n".join(lines) + "\n")


def test_replay_json_contract(cli: Cli) -> None:
    result = run(cli, [json.dumps(item) for item in ITEMS])
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "c", "d", 5]
    for record in records:
        assert set(record) == {"id", "duplicate_of", "story", "matches", "alerts"}
        for match in record["matches"]:
            assert {"rule", "score", "highlights"} <= set(match)
            assert isinstance(match["score"], float) and isinstance(match["highlights"], list)
    a, b, c, d, e = records
    assert a["duplicate_of"] is None and a["story"] == "a"
    assert [m["rule"] for m in a["matches"]] == ["entity-list"]
    assert b["matches"] == [] and b["story"] == "b"
    assert (c["duplicate_of"], c["story"]) == ("a", "a"), "identical text"
    assert (d["duplicate_of"], d["story"]) == ("a", "a"), "same URL with tracking junk"
    assert "china-chip-sales" in [m["rule"] for m in e["matches"]]
    assert [r["alerts"] for r in records] == [True, False, False, False, True]


def test_invalid_lines_are_reported_in_place(cli: Cli) -> None:
    result = run(
        cli,
        [json.dumps(ITEMS[0]), "{not json", json.dumps({"title": "no id"}), json.dumps(ITEMS[1])],
    )
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["a", None, None, "b"]
    assert records[1]["error"].startswith("line 2: invalid JSON")
    assert records[2]["error"] == 'line 3: missing "id"'
    assert "invalid input lines" in result.stderr


def test_replay_with_draft_rules(cli: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text("rules:\n  - name: crisps\n    query: crisps OR potato\n")
    result = run(cli, [json.dumps(item) for item in ITEMS[:2]], "--rules", str(draft))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [[m["rule"] for m in r["matches"]] for r in records] == [[], ["crisps"]]


def test_duplicates_match_but_never_alert(cli: Cli) -> None:
    """Issue 11: replay printed matches for an input it called a duplicate, and nothing
    told the reader that the pipeline would not alert on it."""
    near_copy = {**ITEMS[0], "id": "a2", "url": "https://third.example/x"}
    near_copy["text"] = near_copy["text"].replace("filler59", "updated")
    lines = [json.dumps(item) for item in (ITEMS[0], ITEMS[2], near_copy)]
    result = run(cli, lines)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["duplicate_of"] for r in records] == [None, "a", "a"]
    assert all(r["matches"] for r in records), "matches are still reported"
    assert [r["alerts"] for r in records] == [True, False, False], (
        "the near copy joins a story that already alerted on entity-list"
    )


def test_text_output_says_which_inputs_would_alert(cli: Cli) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    lines = [json.dumps(item) for item in ITEMS[:3]]
    result = cli("replay", "-", input="\n".join(lines) + "\n")
    out = result.stdout.splitlines()
    assert out[0].startswith("a: new, story a: entity-list (") and out[0].endswith("would alert")
    assert out[1] == "b: new, story b: no match; no alert"
    assert out[2].startswith("c: duplicate of a") and out[2].endswith("; no alert")


def count_articles(url: str) -> int:
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(m.Article))
    engine.dispose()
    return total or 0


def test_replay_db_is_read_only_unless_write(cli: Cli, db_url: str) -> None:
    """Issue 11: ``replay --db`` stored its inputs, so the real pipeline later took the same
    article for a duplicate and never alerted on it."""
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    assert cli("--db", db_url, "migrate").returncode == 0
    given = db_url.replace("postgresql+psycopg://", "postgres://", 1)  # the global --db's forms
    line = json.dumps(ITEMS[0]) + "\n"
    for _ in range(2):
        result = cli("replay", "-", "--json", "--db", given, input=line)
        assert result.returncode == 0, result.stderr
        record = json.loads(result.stdout)
        assert (record["duplicate_of"], record["alerts"]) == (None, True)
    assert count_articles(db_url) == 0

    written = cli("replay", "-", "--json", "--db", given, "--write", input=line)
    assert json.loads(written.stdout)["alerts"] is True
    assert count_articles(db_url) == 1
    again = json.loads(cli("replay", "-", "--json", "--db", given, input=line).stdout)
    assert again["duplicate_of"].startswith("article:") and again["alerts"] is False
    assert count_articles(db_url) == 1


def test_replay_db_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    line = json.dumps(ITEMS[0]) + "\n"
    missing = cli("replay", "-", "--db", f"sqlite:///{tmp_path / 'none.db'}", input=line)
    assert (missing.returncode, missing.stderr.count("\n")) == (3, 1)
    assert "no database at" in missing.stderr and not (tmp_path / "none.db").exists()
    no_db = cli("replay", "-", "--write", input=line)
    assert no_db.returncode == 2 and "--write needs --db URL" in no_db.stderr
