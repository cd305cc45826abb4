"""The bad-input walk: every command through its bad inputs. Each must end with exactly
one line on stderr, the documented exit code and no traceback; read-only commands must
not create the database they were pointed at. Ctrl-C is one line and exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import Cli, LocalServer, rss, write_config

Setup = Callable[[Cli, Path], None]


def _config(cli: Cli, path: Path) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])


def _migrated(cli: Cli, path: Path) -> None:
    _config(cli, path)
    assert cli("migrate").returncode == 0


def _alerts(channel: dict[str, object]) -> Setup:
    def setup(cli: Cli, path: Path) -> None:
        config = Path(cli.env["WIREWATCH_CONFIG"])
        write_config(config, feeds=[])
        alerts = {
            "channels": {"out": channel},
            "routes": [{"name": "r", "rules": ["*"], "channels": ["out"]}],
        }
        (config / "alerts.yaml").write_text(yaml.safe_dump(alerts))

    return setup


def _typo_rule(cli: Cli, path: Path) -> None:
    _config(cli, path)
    rules = {"rules": [{"name": "chips", "querry": "chip"}]}
    (Path(cli.env["WIREWATCH_CONFIG"]) / "rules.yaml").write_text(yaml.safe_dump(rules))


def _files(cli: Cli, path: Path) -> None:
    _config(cli, path)
    (path / "latin1.jsonl").write_bytes(b'{"id": 1, "title": "Caf\xe9"}\n')
    (path / "pretty.json").write_text('{\n  "id": 1,\n  "title": "x"\n}\n')
    (path / "array.json").write_text('[{"id": 1, "title": "x"}]\n')
    (path / "empty.jsonl").write_text("\n")
    (path / "draft.yaml").write_text("rules:\n  - name: a\n    query: chip\n")
    (path / "feeds.opml").write_text(
        '<opml version="2.0"><body><outline type="rss" xmlUrl="https://e.com/f.xml"/></body></opml>'
    )


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    setup: Setup
    code: int
    says: str
    input: str | None = None


NO_DB = "no database at"
CASES = {
    "matches, no database": Case(("matches",), _config, 3, NO_DB),
    "stories, no database": Case(("stories",), _config, 3, NO_DB),
    "status, no database": Case(("status",), _config, 3, NO_DB),
    "alerts, no database": Case(("alerts",), _config, 3, NO_DB),
    "replay --db, no database": Case(
        ("replay", "--db", "sqlite:////nonexistent/x.db", "{p}/draft.yaml"), _files, 3, NO_DB
    ),
    "matches --since 999999d": Case(("matches", "--since", "999999d"), _migrated, 2, "--since"),
    "matches --since xyz": Case(("matches", "--since", "xyz"), _migrated, 2, "not a duration"),
    "matches --rule unknown": Case(("matches", "--rule", "nope"), _migrated, 2, "no rule named"),
    "--db bare path": Case(("--db", "wirewatch.db", "matches"), _config, 2, "sqlite:///"),
    "--db relative sqlite:///": Case(
        ("--db", "sqlite:///rel/w.db", "matches"), _config, 3, "four slashes"
    ),
    "replay non-UTF-8": Case(("replay", "{p}/latin1.jsonl"), _files, 1, "not UTF-8"),
    "replay pretty-printed": Case(("replay", "{p}/pretty.json"), _files, 1, "not JSON Lines"),
    "replay JSON array": Case(("replay", "{p}/array.json"), _files, 1, "not JSON Lines"),
    "replay empty": Case(("replay", "{p}/empty.jsonl"), _files, 1, "is empty"),
    "replay empty stdin": Case(("replay", "-"), _files, 1, "is empty", input=""),
    "replay missing file": Case(("replay", "{p}/none.jsonl"), _files, 2, "No such file"),
    "rules test non-UTF-8": Case(
        ("rules", "test", "{p}/draft.yaml", "{p}/latin1.jsonl"), _files, 1, "not UTF-8"
    ),
    "rules test pretty-printed": Case(
        ("rules", "test", "{p}/draft.yaml", "{p}/pretty.json"), _files, 1, "not JSON Lines"
    ),
    "rules test empty": Case(
        ("rules", "test", "{p}/draft.yaml", "{p}/empty.jsonl"), _files, 1, "is empty"
    ),
    "rules typo'd key": Case(("rules", "check"), _typo_rule, 2, "unknown key"),
    "slack webhook_url invalid": Case(
        ("alerts", "test", "out"), _alerts({"type": "slack", "webhook_url": "hooks/x"}), 2,
        "webhook_url: 'hooks/x' is not an http:// or https:// URL",
    ),
    "webhook url invalid": Case(
        ("run-once",), _alerts({"type": "webhook", "url": "example.com/hook"}), 2,
        "url: 'example.com/hook' is not an http:// or https:// URL",
    ),
    "feeds import --interval xyz": Case(
        ("feeds", "import", "{p}/feeds.opml", "--interval", "xyz"), _files, 2, "--interval"
    ),
    "feeds add --interval xyz": Case(
        ("feeds", "add", "https://e.com/f.xml", "--interval", "xyz"), _files, 2, "--interval"
    ),
    "prune --older-than xyz": Case(("prune", "--older-than", "xyz"), _config, 2, "--older-than"),
    "alerts --status bogus": Case(("alerts", "--status", "bogus"), _config, 2, "--status"),
    "unknown command": Case(("nosuch",), _config, 2, "No such command"),
    "digest --route unknown": Case(("digest", "--route", "x"), _migrated, 2, "no digest route"),
    "alerts test unknown channel": Case(("alerts", "test", "x"), _config, 2, "no channel named"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_with_its_exit_code(cli: Cli, tmp_path: Path, name: str) -> None:
    case = CASES[name]
    case.setup(cli, tmp_path)
    args = [arg.replace("{p}", str(tmp_path)) for arg in case.args]
    result = cli(*args, input=case.input)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == case.code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert case.says in lines[0]
    assert not (tmp_path / "data" / "wirewatch.db").exists() or case.setup is _migrated


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_read_only_data_directory_says_so(cli: Cli, tmp_path: Path) -> None:
    _config(cli, tmp_path)
    data = Path(cli.env["WIREWATCH_DATA_DIR"])
    data.mkdir()
    data.chmod(0o555)
    try:
        result = cli("run-once")
    finally:
        data.chmod(0o755)
    assert result.returncode == 3
    assert "is read-only" in result.stderr and "unreachable" not in result.stderr


def test_interrupted_run_says_one_line_and_exits_130(
    cli: Cli, tmp_path: Path, http_server: LocalServer
) -> None:
    """SIGINT while a feed is being fetched: one line, exit 130, no traceback from the
    process or its extraction children.

    The slow feed answers only when the test ends and the fetch timeouts are longer than
    the test may take, so the run cannot finish on its own before the signal arrives
    (with a 2 s read timeout, a busy machine once let it end normally first)."""
    arrived = threading.Event()
    released = threading.Event()

    def slow(handler: object) -> None:
        arrived.set()
        released.wait(180)

    feed = http_server.add_handler("/slow.xml", slow)
    page = http_server.add("/fast.xml", rss([{"title": "t", "link": http_server.url("/a")}]))
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]), feeds=[{"url": feed}, {"url": page}],
        fetch={"read_timeout": 300, "total_timeout": 600},
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run-once"],
        env=cli.env, cwd=cli.env["HOME"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not arrived.wait(0.05) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
        assert arrived.is_set(), "the slow feed was never requested"
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        released.set()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, (stdout, stderr)
    assert stderr.strip() == "wirewatch: interrupted, nothing half-stored"
    assert "Traceback" not in stdout
