"""Story clustering on the project's own test set (tests/data/stories.yaml), through the
real ``wirewatch replay --json``, and story-level alerting across processes."""

import itertools
import json
from pathlib import Path

from tests.conftest import Cli, LocalServer, rss, write_config
from tests.stories import story_items


def test_story_clustering_precision_and_recall(cli: Cli) -> None:
    items = story_items()
    assert len(items) >= 60 and len({i["story"] for i in items}) >= 20
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    result = cli("replay", "-", "--json", input="\n".join(json.dumps(i) for i in items))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [i["id"] for i in items]
    truth = {i["id"]: i["story"] for i in items}
    predicted = {r["id"]: r["story"] for r in records}
    tp = fp = fn = 0
    wrong = []
    for a, b in itertools.combinations(truth, 2):
        same_truth, same_predicted = truth[a] == truth[b], predicted[a] == predicted[b]
        tp += same_truth and same_predicted
        fp += same_predicted and not same_truth
        fn += same_truth and not same_predicted
        if same_truth != same_predicted:
            wrong.append((a, b, "merged" if same_predicted else "split"))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(
        f"\nstory clustering on {len(items)} articles in {len(set(truth.values()))} stories: "
        f"pairwise precision {precision:.3f}, recall {recall:.3f}"
    )
    assert precision >= 0.98 and recall >= 0.9, wrong

    by_id = {r["id"]: r for r in records}
    for item in items:
        record = by_id[item["id"]]
        if item["kind"] == "base":
            assert record["duplicate_of"] is None and record["story"] == item["id"]
        elif item["kind"] == "amp":
            assert record["duplicate_of"] == f"{item['story']}-0", "AMP URL of a stored article"


def _feed(server: LocalServer, path: str, title: str, text: str, guid: str) -> str:
    return server.add(
        path,
        rss([{"title": title, "guid": guid, "summary": text, "link": server.url(f"/a/{guid}")}]),
    )


BASE = (
    "The Commerce Department added 80 companies to the Entity List on Wednesday, most of "
    "them in China, saying they supported military modernisation. Companies on the list need "
    "a licence to receive items subject to the Export Administration Regulations, and "
    "applications will be reviewed under a presumption of denial. The additions include two "
    "suppliers accused of helping a sanctioned foundry obtain etching tools."
)
COPY = BASE.replace("on Wednesday, ", "").replace("The additions include", "Among them are")
UPDATE = COPY + (
    " China's commerce ministry said it firmly opposes the decision and will take "
    "the necessary measures, including limits on exports of gallium and germanium."
)


def test_story_alerts_once_per_rule_across_processes(
    cli: Cli, http_server: LocalServer, db_url: str
) -> None:
    cli.env["DATABASE_URL"] = db_url
    config = Path(cli.env["WIREWATCH_CONFIG"])
    rules = [
        {"name": "entity-list", "query": '"Entity List"'},
        {"name": "minerals", "query": "gallium OR germanium"},
    ]
    first = _feed(http_server, "/one.xml", "Commerce adds 80 firms to Entity List", BASE, "one")
    write_config(
        config,
        feeds=[{"url": first, "name": "Wire One"}],
        rules=rules,
        fetch={"fetch_pages": False},
    )
    assert cli("migrate").returncode == 0
    assert "1 new article," in cli("run-once").stdout

    second = _feed(http_server, "/two.xml", "US blacklists 80 firms", COPY, "two")
    third = _feed(
        http_server, "/three.xml", "UPDATE 1-Commerce adds 80 firms to Entity List", UPDATE, "three"
    )
    write_config(
        config,
        feeds=[
            {"url": first, "name": "Wire One"},
            {"url": second, "name": "Wire Two"},
            {"url": third, "name": "Wire Three"},
        ],
        rules=rules,
        fetch={"fetch_pages": False},
    )
    run = cli("run-once")
    assert run.returncode == 0, run.stderr
    assert "2 new articles" in run.stdout, "near-duplicates are stored as members of the story"

    alerts = [
        json.loads(line)
        for line in (Path(cli.env["WIREWATCH_DATA_DIR"]) / "alerts.jsonl").read_text().splitlines()
    ]
    assert sorted(a["rule"] for a in alerts) == ["entity-list", "minerals"], (
        "one alert per rule and story: the copy adds nothing, the update alerts once for its new rule"
    )
    stories = [json.loads(line) for line in cli("stories", "--json").stdout.splitlines()]
    assert len(stories) == 1
    assert stories[0]["articles"] == 3
    assert set(stories[0]["outlets"]) == {"Wire One", "Wire Two", "Wire Three"}
    assert "3 articles" in cli("stories").stdout
