"""End-to-end throughput with 1, 2 and 4 worker processes on one PostgreSQL database.

The farm of bench/fetch.py (feeds of real article pages on loopback hosts) is served by a
separate process; for each worker count a fresh database is created, the workers are
started with ``wirewatch worker``, and the time until every entry is stored gives
articles/s. Prints the machine's core count beside the figures.

Run: ``python bench/scale.py [--feeds 100 --items 20] [--pg postgresql://postgres@127.0.0.1/test]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
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


def write_config(directory: Path, port: int, feeds: int, hosts: int) -> None:
    shipped = ROOT / "config"
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("rules.yaml", "entities.yaml"):
        (directory / name).write_text((shipped / name).read_text())
    fetch = {"allow_private_networks": True, "per_host_delay": 0, "per_host_concurrency": 4,
             "concurrency": 16, "read_timeout": 30, "total_timeout": 60}  # fmt: skip
    urls = [
        {"url": f"http://{host_of(n, hosts)}:{port}/feed/{n}.xml", "interval": "1h"}
        for n in range(feeds)
    ]
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"fetch": fetch, "feeds": urls}))
    (directory / "alerts.yaml").write_text(yaml.safe_dump({"channels": {}, "routes": []}))
    (directory / "settings.yaml").write_text(yaml.safe_dump({"worker": {"feed_lease": "2m"}}))


def entries(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("select count(*) from entries")).scalar() or 0
    engine.dispose()
    return count


def run(workers: int, admin_url: str, config: Path, expected: int) -> float:
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
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        drop_database(admin_url, url)
    return expected / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=25)
    parser.add_argument("--port", type=int, default=18734)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    farm = start_farm(args.port, args.feeds, args.items, args.hosts)
    expected = args.feeds * args.items
    print(f"farm: {args.feeds} feeds x {args.items} items; machine: {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "config"
        write_config(config, args.port, args.feeds, args.hosts)
        for workers in map(int, args.workers.split(",")):
            rate = run(workers, args.pg, config, expected)
            print(f"{workers} worker(s): {rate:.1f} articles/s end to end")
    farm.kill()


if __name__ == "__main__":
    main()
