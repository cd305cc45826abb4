"""Progress is drawn on a terminal only, never into a pipe or with --quiet; --quiet also
silences the console channel."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import Cli, LocalServer, rss, write_config

from pipeline.progress import shown, track


def test_track_passes_items_through_and_draws_nothing_off_a_terminal(capfd) -> None:  # type: ignore[no-untyped-def]
    assert list(track(iter(range(5)), "counting", total=5)) == [0, 1, 2, 3, 4]
    assert capfd.readouterr().err == ""
    assert not shown(enabled=False)


def test_rules_test_draws_progress_on_a_terminal_only(cli: Cli, tmp_path: Path) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    draft = tmp_path / "draft.yaml"
    draft.write_text("rules:\n  - name: crisps\n    query: potato\n")
    archive = tmp_path / "a.jsonl"
    archive.write_text(
        "\n".join(json.dumps({"id": n, "title": f"Potato {n}"}) for n in range(50)) + "\n"
    )
    args = [sys.executable, "-m", "pipeline", "rules", "test", str(draft), str(archive)]
    piped = subprocess.run(args, env=cli.env, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and piped.stderr == ""

    leader, follower = pty.openpty()
    process = subprocess.Popen(args, env=cli.env, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    process.communicate(timeout=120)
    os.close(leader)
    assert process.returncode == 0
    assert b"matching" in drawn, drawn


def test_quiet_silences_the_console_channel(cli: Cli, http_server: LocalServer) -> None:
    feed = http_server.add(
        "/f.xml", rss([{"title": "Commerce adds firms to the Entity List", "guid": "a"}])
    )
    config = write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": feed}],
        rules=[{"name": "entity-list", "query": '"Entity List"'}],
        fetch={"fetch_pages": False},
    )
    alerts = {
        "channels": {"screen": {"type": "console"}},
        "routes": [{"name": "all", "rules": ["*"], "channels": ["screen"]}],
    }
    (config / "alerts.yaml").write_text(yaml.safe_dump(alerts))
    quiet = cli("run-once", "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stdout
    assert "1 sent" in cli("alerts", "--json").stdout.replace('"status": "sent"', "1 sent")
