"""The ``replay --json`` contract: one valid JSON object per input line, in input order."""

import json
from pathlib import Path

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
        assert set(record) == {"id", "duplicate_of", "story", "matches"}
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
