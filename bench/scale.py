"""End-to-end throughput with 1, 2 and 4 worker processes on one PostgreSQL database,
and exactly-once delivery through a slow channel.

The farm of bench/fetch.py (feeds of real article pages on loopback hosts) is served by a
separate process; for each worker count a fresh database is created, the workers are
started with ``wirewatch worker``, and the time until every entry is stored gives
articles/s. Every alert goes to a webhook on 127.0.0.1 that answers after
``--channel-delay`` seconds, under a delivery lease of ``--lease``; once the outbox is
empty the figures say how many alerts were posted twice (duplicates) and how many were
never posted (lost): both must be 0. Prints the machine's core count beside the figures.

Run: ``python bench/scale.py [--feeds 100 --items 20] [--pg postgresql://postgres@127.0.0.1/test]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.fetch import host_of, start_farm  # noqa: E402


def fresh_database(admin_url: str) -> str:
    name = f"wirewatch_scale_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


class SlowReceiver:
    """A webhook on 127.0.0.1 that answers each POST after ``delay`` seconds and counts
    the alert keys it accepted."""

    def __init__(self, delay: float) -> None:
        self.keys: Counter[str] = Counter()
        lock = threading.Lock()
        keys = self.keys

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)  # the slow channel being measured
                with lock:
                    keys[body["key"]] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def reset(self) -> None:
        self.keys.clear()


def write_config(
    directory: Path, port: int, feeds: int, hosts: int, receiver: str, lease: str
) -> None:
    shipped = ROOT / "config"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "entities.yaml").write_text((shipped / "entities.yaml").read_text())
    rules = yaml.safe_load((shipped / "rules.yaml").read_text())
    rules["rules"].append({"name": "every-article", "query": "the"})  # an alert per article
    (directory / "rules.yaml").write_text(yaml.safe_dump(rules))
    fetch = {"allow_private_networks": True, "per_host_delay": 0, "per_host_concurrency": 4,
             "concurrency": 16, "read_timeout": 30, "total_timeout": 60}  # fmt: skip
    urls = [
        {"url": f"http://{host_of(n, hosts)}:{port}/feed/{n}.xml", "interval": "1h"}
        for n in range(feeds)
    ]
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"fetch": fetch, "feeds": urls}))
    alerts = {
        "channels": {"slow": {"type": "webhook", "url": receiver, "timeout": 60}},
        "routes": [{"name": "all", "channels": ["slow"]}],
        "delivery": {"lease": lease},
    }
    (directory / "alerts.yaml").write_text(yaml.safe_dump(alerts))
    (directory / "settings.yaml").write_text(yaml.safe_dump({"worker": {"feed_lease": "2m"}}))


def scalar(url: str, query: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text(query)).scalar() or 0
    engine.dispose()
    return count


def entries(url: str) -> int:
    return scalar(url, "select count(*) from entries")


def outbox_empty(url: str) -> bool:
    return scalar(url, "select count(*) from alerts where status in ('pending', 'sending')") == 0


def run(
    workers: int, admin_url: str, config: Path, expected: int, receiver: SlowReceiver
) -> tuple[float, int, int, int]:
    """(articles/s, alerts, duplicate posts, alerts never posted)."""
    receiver.reset()
    url = fresh_database(admin_url)
    env = {**os.environ, "DATABASE_URL": url, "WIREWATCH_CONFIG": str(config),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    subprocess.run([sys.executable, "-m", "pipeline", "migrate"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while entries(url) < expected and time.perf_counter() - started < 1800:
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        while not outbox_empty(url) and time.perf_counter() - started < 3600:
            time.sleep(0.5)
        alerts = scalar(url, "select count(*) from alerts")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        drop_database(admin_url, url)
    duplicates = sum(count - 1 for count in receiver.keys.values())
    return expected / elapsed, alerts, duplicates, alerts - len(receiver.keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=25)
    parser.add_argument("--port", type=int, default=18734)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--channel-delay", type=float, default=0.5, help="seconds per alert")
    parser.add_argument("--lease", default="5s", help="delivery lease (shorter than a batch)")
    args = parser.parse_args()
    receiver = SlowReceiver(args.channel_delay)
    farm = start_farm(args.port, args.feeds, args.items, args.hosts)
    expected = args.feeds * args.items
    print(f"farm: {args.feeds} feeds x {args.items} items; machine: {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "config"
        write_config(config, args.port, args.feeds, args.hosts, receiver.url, args.lease)
        print(f"channel: {args.channel_delay:g} s per alert, delivery lease {args.lease}")
        for workers in map(int, args.workers.split(",")):
            rate, alerts, duplicates, lost = run(workers, args.pg, config, expected, receiver)
            print(
                f"{workers} worker(s): {rate:.1f} articles/s end to end; {alerts} alerts, "
                f"{duplicates} duplicate deliveries, {lost} lost"
            )
    farm.kill()


if __name__ == "__main__":
    main()
