import json
from pathlib import Path

import yaml

from pipeline.demo import DATA
from pipeline.store import Store, make_engine
from tests.conftest import Cli


def test_demo_alerts_on_export_stories_only_and_never_twice(cli: Cli, tmp_path: Path) -> None:
    keep = tmp_path / "demo"
    del cli.env["WIREWATCH_CONFIG"]  # the shipped default rules
    result = cli("demo", "--keep", str(keep))
    assert result.returncode == 0, result.stderr
    stories = yaml.safe_load(DATA.read_text())["stories"]
    alerts = [json.loads(line) for line in (keep / "alerts.jsonl").read_text().splitlines()]
    alerted = {a["title"] for a in alerts}
    assert alerted == {s["title"] for s in stories if s["alert"]}
    assert len({(a["rule"], a["title"]) for a in alerts}) == len(alerts), (
        "one alert per rule and story"
    )
    syndicated = [a for a in alerts if a["title"].startswith("Commerce adds 23")]
    assert syndicated
    # Alerts go out as soon as the first outlet's copy is stored (issue 16), before the
    # second outlet's copy arrives; the story names both.
    stories_stored = Store(make_engine(f"sqlite:///{keep / 'demo.db'}")).stories()
    assert any(
        len(s.outlets) >= 2 for s in stories_stored if s.title.startswith("Commerce adds 23")
    ), "the second outlet is named"
    assert "cycle 2 created 0 alerts" in result.stdout
    second = result.stdout.split("cycle 2, same database")[1]
    assert "0 new articles" in second and "●" not in second
