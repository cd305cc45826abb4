"""The long-running worker: polls, alerts, and stops cleanly on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from pipeline.config import load_config
from pipeline.run import Pipeline
from pipeline.store import Store, make_engine, migrate
from pipeline.worker import run_worker
from tests.conftest import ROOT, Cli, LocalServer, rss, write_config


def test_worker_polls_and_stops_on_sigterm(cli: Cli, http_server: LocalServer) -> None:
    feed = http_server.add(
        "/w.xml",
        rss(
            [
                {
                    "title": "Commerce adds 30 companies to the Entity List",
                    "guid": "w1",
                    "summary": "The Commerce Department added 30 companies to the Entity List on Friday.",
                }
            ]
        ),
    )
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": feed, "name": "w", "interval": "1s"}],
        fetch={"fetch_pages": False},
    )
    alerts = Path(cli.env["WIREWATCH_DATA_DIR"]) / "alerts.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "worker"],
        env=cli.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not alerts.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert alerts.exists(), "the worker delivered an alert"
        polled = len(http_server.requests["/w.xml"])
        assert _wait_for(lambda: len(http_server.requests["/w.xml"]) > polled), (
            "the feed is polled on its interval"
        )
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "worker stopped" in stderr
    records = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert [r["rule"] for r in records] == ["entity-list"], "polled many times, alerted once"
    assert os.path.exists(Path(cli.env["WIREWATCH_DATA_DIR"]) / "wirewatch.db")


def _wait_for(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_sighup_reload_keeps_last_valid_rules(
    cli: Cli, http_server: LocalServer, tmp_path: Path
) -> None:
    first = http_server.add(
        "/one.xml", rss([{"title": "Potato harvest", "guid": "p1", "summary": "Potatoes."}])
    )
    config = write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": first, "interval": "1s"}],
        rules=[{"name": "spuds", "query": "potato*"}],
        fetch={"fetch_pages": False},
    )
    alerts = Path(cli.env["WIREWATCH_DATA_DIR"]) / "alerts.jsonl"
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "worker"],
            env=cli.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            text=True,
        )
    try:
        assert _wait_for(alerts.exists), "first alert"
        (config / "rules.yaml").write_text("rules:\n  - name: broken\n    query: '(potato'\n")
        process.send_signal(signal.SIGHUP)
        assert _wait_for(
            lambda: "config reload failed, keeping the last valid config" in log_path.read_text()
        )
        assert "rules[0] (broken)" in log_path.read_text()
        assert process.poll() is None, "a bad reload does not stop the worker"

        second = http_server.add(
            "/two.xml", rss([{"title": "Zebra news", "guid": "z1", "summary": "Zebras."}])
        )
        write_config(
            config,
            feeds=[{"url": first, "interval": "1s"}, {"url": second, "interval": "1s"}],
            rules=[{"name": "spuds", "query": "potato*"}, {"name": "stripes", "query": "zebra*"}],
            fetch={"fetch_pages": False},
        )
        process.send_signal(signal.SIGHUP)
        assert _wait_for(lambda: "stripes" in alerts.read_text()), (
            "the new feed and rule are in use"
        )
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    rules = [json.loads(line)["rule"] for line in alerts.read_text().splitlines()]
    assert sorted(rules) == ["spuds", "stripes"]


def test_a_rule_saved_while_the_worker_starts_is_picked_up(
    http_server: LocalServer, tmp_path: Path
) -> None:
    """A rules file saved after the config was read but before the worker's main loop
    took its first look is a change too: the worker compares against the stamp taken
    when the config was read, not against one taken once it was running (the gap in
    which the desk's "save rule" was once lost on a busy machine)."""
    feed = http_server.add("/quiet.xml", rss([{"title": "Nothing", "guid": "n1"}]))
    config_dir = write_config(
        tmp_path / "config", feeds=[{"url": feed, "interval": "1h"}],
        rules=[{"name": "spuds", "query": "potato*"}], fetch={"fetch_pages": False},
    )  # fmt: skip
    engine = make_engine(f"sqlite:///{tmp_path / 'wirewatch.db'}")
    migrate(engine)
    pipeline = Pipeline.build(load_config(config_dir), Store(engine), base_dir=tmp_path)
    rules = config_dir / "rules.yaml"
    rules.write_text(
        yaml.safe_dump({"rules": [{"name": "spuds", "query": "potato*"},
                                  {"name": "stripes", "query": "zebra*"}]})
    )  # fmt: skip
    later = rules.stat().st_mtime_ns + 1_000_000_000  # a change even on a coarse clock
    os.utime(rules, ns=(later, later))
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker, args=(pipeline, stop, lambda: load_config(config_dir)), daemon=True
    )
    worker.start()
    try:
        assert _wait_for(
            lambda: "stripes" in {rule.name for rule in pipeline.config.rules.rules}
        ), "the rule saved while the worker was starting was never loaded"
    finally:
        stop.set()
        worker.join(60)
        pipeline.close()
    assert not worker.is_alive()
