"""Shared fixtures: real local HTTP servers, real SQLite and PostgreSQL databases.

PostgreSQL tests use ``WIREWATCH_TEST_PG_URL`` (default: 127.0.0.1:5432, database
``test``). Where no server answers they are skipped with the reason — except under
``CI=true``, where a missing PostgreSQL fails the run instead of hiding the tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --------------------------------------------------------------------------- HTTP


Responder = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class LocalServer:
    """A loopback HTTP server whose paths are set by the test."""

    base: str
    routes: dict[str, Responder] = field(default_factory=dict)
    requests: dict[str, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))

    def url(self, path: str) -> str:
        return self.base + path

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "application/rss+xml",
        headers: dict[str, str] | None = None,
    ) -> str:
        payload = body.encode() if isinstance(body, str) else body

        def respond(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)

        self.routes[path] = respond
        return self.url(path)

    def add_handler(self, path: str, responder: Responder) -> str:
        self.routes[path] = responder
        return self.url(path)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up early are part of the tests, not errors."""


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    server_ref: dict[str, LocalServer] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            local = server_ref["server"]
            path = self.path.split("?")[0]
            local.requests[path].append(dict(self.headers.items()))
            responder = local.routes.get(path)
            if responder is None:
                self.send_error(404)
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                responder(self)

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    server_ref["server"] = LocalServer(f"http://127.0.0.1:{httpd.server_port}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_ref["server"]
    httpd.shutdown()
    httpd.server_close()


def hang(seconds: float) -> Responder:
    """A responder that sends nothing for ``seconds``."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)

    return respond


# --------------------------------------------------------------------------- feeds


def rss(items: list[dict[str, str]], title: str = "Test feed") -> str:
    parts = []
    for item in items:
        guid = f"<guid>{item['guid']}</guid>" if item.get("guid") else ""
        date = f"<pubDate>{item['date']}</pubDate>" if item.get("date") else ""
        parts.append(
            f"<item><title>{item['title']}</title><link>{item.get('link', '')}</link>{guid}{date}"
            f"<description>{item.get('summary', '')}</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://127.0.0.1/</link><description>d</description>{''.join(parts)}</channel></rss>"
    )


def article_html(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="en"><head><title>{title}</title></head><body>'
        f"<nav><a href='/'>Home</a> <a href='/x'>World</a></nav><article><h1>{title}</h1>{body}"
        f"</article><footer>Copyright test outlet</footer></body></html>"
    )


# --------------------------------------------------------------------------- config and CLI


def write_config(
    directory: Path,
    *,
    feeds: list[dict[str, Any]],
    rules: list[dict[str, Any]] | None = None,
    fetch: dict[str, Any] | None = None,
    alert_file: str = "alerts.jsonl",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fetch_settings = {
        "connect_timeout": 2,
        "read_timeout": 2,
        "total_timeout": 4,
        "concurrency": 4,
        "allow_private_networks": True,  # the tests' servers are on 127.0.0.1
        "per_host_delay": 0,
        "per_host_concurrency": 8,
    }
    fetch_settings.update(fetch or {})
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"fetch": fetch_settings, "feeds": feeds}))
    if rules is None:
        (directory / "rules.yaml").write_text((ROOT / "config" / "rules.yaml").read_text())
        (directory / "entities.yaml").write_text((ROOT / "config" / "entities.yaml").read_text())
    else:
        (directory / "rules.yaml").write_text(yaml.safe_dump({"rules": rules}))
    (directory / "alerts.yaml").write_text(
        yaml.safe_dump(
            {
                "channels": {"jsonl": {"type": "file", "path": alert_file}},
                "routes": [{"name": "all", "rules": ["*"], "channels": ["jsonl"]}],
            }
        )
    )
    return directory


@dataclass
class Cli:
    env: dict[str, str]

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.env["HOME"],
        )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """Runs the real ``wirewatch`` CLI in a subprocess with its own data and config dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "DATABASE_URL"))}
    home = tmp_path / "home"
    home.mkdir()
    env.update(
        HOME=str(home),
        WIREWATCH_DATA_DIR=str(tmp_path / "data"),
        WIREWATCH_CONFIG=str(tmp_path / "config"),
        PYTHONPATH=str(ROOT),
    )
    return Cli(env)


# --------------------------------------------------------------------------- databases


def _pg_base_url() -> str:
    return os.environ.get("WIREWATCH_TEST_PG_URL", PG_DEFAULT).replace(
        "postgresql://", "postgresql+psycopg://", 1
    )


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = _pg_base_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        reason = f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {str(exc).splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    return url


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"wirewatch_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wirewatch.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def migrated_store(db_url: str) -> Iterator[Any]:
    """A ``Store`` on a freshly migrated database of each kind."""
    from pipeline.store import Store, make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine)
    yield Store(engine)
    engine.dispose()


# --------------------------------------------------------------------------- Slack and SMTP


@dataclass
class SlackServer:
    """A local server that answers as Slack does, for webhooks and ``chat.postMessage``.

    ``script`` holds the answers to give next, as (status, body, headers); when it is
    empty, requests succeed. ``delivered`` keeps the payloads Slack would have posted.
    """

    server: LocalServer
    script: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    hold: threading.Event | None = None

    @property
    def webhook_url(self) -> str:
        return self.server.url("/services/T000/B000/XXXX")

    @property
    def api_url(self) -> str:
        return self.server.url("/api/")


@pytest.fixture
def slack(http_server: LocalServer) -> SlackServer:
    fake = SlackServer(http_server)

    def respond(handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        payload = json.loads(handler.rfile.read(length) or b"{}")
        fake.attempts += 1
        if fake.hold is not None and not fake.hold.is_set():
            fake.hold.wait(60)  # the connection hangs: the message is never accepted
            return
        api = handler.path.startswith("/api/")
        if fake.script:
            status, body, headers = fake.script.pop(0)
        else:
            status, body, headers = 200, ({"ok": True, "ts": "1.1"} if api else "ok"), {}
            fake.delivered.append(payload)
        raw = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
        handler.send_response(status)
        handler.send_header(
            "Content-Type", "application/json" if isinstance(body, dict) else "text/plain"
        )
        handler.send_header("Content-Length", str(len(raw)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(raw)

    http_server.routes["/services/T000/B000/XXXX"] = respond
    http_server.routes["/api/chat.postMessage"] = respond
    return fake


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.reply: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    recorder: _Recorder
    controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[Any]:
        return self.recorder.messages


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; ``stop()`` simulates an outage."""
    server = SmtpServer(free_port(), _Recorder())
    server.start()
    yield server
    server.stop()
