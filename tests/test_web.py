"""The web desk through Starlette's TestClient, on real SQLite and PostgreSQL: sign-in,
roles, CSRF and origin checks, hostile feed text, pages and the JSON API."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from pipeline.web.accounts import create_token
from pipeline.web.app import create_app
from pipeline.web.auth import SECRET_ENV, SECRET_FILE, session_secret
from pipeline.web.security import CSP
from tests.conftest import Cli, free_port, write_config
from tests.web_helpers import (
    HOSTILE_TITLE,
    HOSTILE_URL,
    NOW,
    PASSWORD,
    DeskData,
)

pytest_plugins = ["tests.web_helpers"]  # the desk fixtures
PAGES = ["/", "/sources", "/outbox", "/rules", "/rules/entity-list", "/rules/new",
         "/stories/1", "/articles/1", "/labels.jsonl"]  # fmt: skip
APIS = ["/api/matches", "/api/feeds", "/api/stories/1"]


def client_for(desk: DeskData, base_url: str = "http://testserver") -> TestClient:
    app = create_app(desk.store, desk.config_dir, "test-secret", clock=lambda: NOW)
    return TestClient(app, base_url=base_url)


def signed_in(desk: DeskData, role: str) -> tuple[TestClient, str]:
    """A client signed in as the user of ``role``, and its CSRF token."""
    client = client_for(desk)
    response = client.post("/login", data={"name": role, "password": PASSWORD, "next": "/"})
    assert response.status_code == 200, response.text
    return client, csrf_of(client.get("/rules/new").text)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --------------------------------------------------------------------------- who may ask


def test_nothing_answers_without_authentication(sqlite_desk: DeskData) -> None:
    client = client_for(sqlite_desk)
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    for path in APIS:
        assert client.get(path).status_code == 401, path
    assert client.post("/api/rules/preview", json={"query": "chip*"}).status_code == 401
    assert client.get("/login").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200


def test_sign_in_sets_a_signed_http_only_cookie(sqlite_desk: DeskData) -> None:
    client = client_for(sqlite_desk)
    wrong = client.post("/login", data={"name": "viewer", "password": "nope-nope"})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    unknown = client.post("/login", data={"name": "nobody", "password": PASSWORD})
    assert unknown.status_code == 401
    response = client.post(
        "/login", data={"name": "viewer", "password": PASSWORD, "next": "/sources"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == "/sources"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/sources").status_code == 200
    client.cookies.set("wirewatch_session", client.cookies["wirewatch_session"] + "x")
    assert client.get("/sources", follow_redirects=False).status_code == 303, "tampered cookie"


def test_cookie_is_secure_over_tls(sqlite_desk: DeskData) -> None:
    client = client_for(sqlite_desk, base_url="https://testserver")
    response = client.post(
        "/login", data={"name": "viewer", "password": PASSWORD}, follow_redirects=False
    )
    assert "Secure" in response.headers["set-cookie"]


def test_login_redirect_stays_on_this_site(sqlite_desk: DeskData) -> None:
    response = client_for(sqlite_desk).post(
        "/login", data={"name": "viewer", "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.headers["location"] == "/"


def test_viewer_reads_but_may_not_change(sqlite_desk: DeskData) -> None:
    client, csrf = signed_in(sqlite_desk, "viewer")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    article = sqlite_desk.article_ids["https://wire-d.example/weather"]
    refused = [
        client.post("/labels", data={"csrf_token": csrf, "article_id": article, "label": "quiet"}),
        client.post("/rules/save", data={"csrf_token": csrf, "name": "x", "query": "chip*"}),
        client.post("/outbox/retry", data={"csrf_token": csrf, "which": "dead"}),
        client.post("/sources/enable", data={"csrf_token": csrf, "url": "x"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert "Save to rules.yaml" not in client.get("/rules/entity-list").text


def test_sources_show_feed_health_and_an_analyst_enables_a_feed(desk: DeskData) -> None:
    client, csrf = signed_in(desk, "analyst")
    page = client.get("/sources").text
    assert "backing off" in page and "read timed out after 20 s" in page
    assert "disabled: 410 Gone: the feed was removed" in page and page.count(">Enable<") == 1
    feeds = {f["url"]: f for f in client.get("/api/feeds").json()["feeds"]}
    assert feeds["https://wire-b.example/rss"]["consecutive_failures"] == 3
    assert feeds["https://gone.example/feed"]["state"] == "disabled"
    enabled = client.post("/sources/enable", follow_redirects=False,
                          data={"csrf_token": csrf, "url": "https://gone.example/feed"})  # fmt: skip
    assert enabled.status_code == 303
    assert client.get("/api/feeds").json()["feeds"][2]["enabled"] is True


def test_analyst_labels_and_retries(desk: DeskData) -> None:
    client, csrf = signed_in(desk, "analyst")
    article = desk.article_ids["https://wire-d.example/weather"]
    labelled = client.post(
        "/labels", data={"csrf_token": csrf, "article_id": article, "label": "quiet"},
        follow_redirects=False,
    )  # fmt: skip
    assert labelled.status_code == 303
    assert (
        client.post("/outbox/retry", data={"csrf_token": csrf, "which": "dead"}).status_code == 200
    )
    assert client.get("/labels.jsonl").text == f'{{"id": "{article}", "label": "quiet"}}\n'


# --------------------------------------------------------------------------- CSRF and origin


def test_unsafe_requests_need_the_csrf_token(sqlite_desk: DeskData) -> None:
    client, csrf = signed_in(sqlite_desk, "admin")
    article = sqlite_desk.article_ids["https://wire-d.example/weather"]
    form = {"article_id": article, "label": "core"}
    assert client.post("/labels", data=form).status_code == 403
    assert client.post("/labels", data={**form, "csrf_token": "forged"}).status_code == 403
    assert client.post("/labels", data=form, headers={"X-CSRF-Token": "forged"}).status_code == 403
    htmx = client.post("/labels", data=form, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert htmx.status_code == 200 and htmx.headers["HX-Trigger"] == "labels-changed"
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.post("/api/rules/preview", json={"query": "chip*"}).status_code == 403


def test_cross_site_requests_are_refused(sqlite_desk: DeskData) -> None:
    client, csrf = signed_in(sqlite_desk, "admin")
    article = sqlite_desk.article_ids["https://wire-d.example/weather"]
    form = {"csrf_token": csrf, "article_id": article, "label": "core"}
    cross = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver"},
    ]
    for headers in cross:
        assert client.post("/labels", data=form, headers=headers).status_code == 403, headers
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/labels", data=form, headers=same).status_code == 200
    login = client_for(sqlite_desk).post(
        "/login", data={"name": "admin", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )  # fmt: skip
    assert login.status_code == 403, "no login CSRF either"


# --------------------------------------------------------------------------- tokens


def test_bearer_tokens_are_stored_hashed(desk: DeskData) -> None:
    token = create_token(desk.store, "script", "analyst", NOW)
    from sqlalchemy import text

    with desk.store.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalar_one()
    assert token not in stored and len(stored) == 64
    client = client_for(desk)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/matches", headers=auth).status_code == 200
    assert (
        client.get("/api/matches", headers={"Authorization": "Bearer ww_wrong"}).status_code == 401
    )
    preview = client.post("/api/rules/preview", json={"query": '"Entity List"'}, headers=auth)
    assert preview.status_code == 200, "scripts need no CSRF token"
    viewer = create_token(desk.store, "reader", "viewer", NOW)
    article = desk.article_ids["https://wire-d.example/weather"]
    refused = client.post(
        "/labels", data={"article_id": article, "label": "core"},
        headers={"Authorization": f"Bearer {viewer}"},
    )  # fmt: skip
    assert refused.status_code == 403


# --------------------------------------------------------------------------- hostile text


def test_feed_text_is_escaped_and_javascript_urls_are_not_links(sqlite_desk: DeskData) -> None:
    client, _ = signed_in(sqlite_desk, "viewer")
    hostile = sqlite_desk.article_ids[HOSTILE_URL]
    story = client.get("/api/matches").json()["stories"][0]["story_id"]
    for path in ["/", f"/articles/{hostile}", f"/stories/{story}", "/rules/entity-list"]:
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "<b>bold</b>" not in page and "<i>Wire</i>" not in page, path
        assert not re.search(r"href=\"\s*javascript:", page, re.I), path
        assert "onerror=&#34;alert(1)&#34;" in page or "&lt;script&gt;" in page, path
    article_page = client.get(f"/articles/{hostile}").text
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in article_page
    assert HOSTILE_URL in article_page, "the URL is shown as text"
    assert HOSTILE_TITLE not in article_page


def test_pages_carry_a_strict_csp_and_no_inline_script(sqlite_desk: DeskData) -> None:
    client, _ = signed_in(sqlite_desk, "admin")
    for path in PAGES[:-1]:
        response = client.get(path)
        assert response.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        for tag in re.findall(r"<script[^>]*>", response.text):
            assert 'src="/static/' in tag, (path, tag)
        assert not re.search(r"<[a-zA-Z][^<>]*\son[a-z]+\s*=", response.text), path


# --------------------------------------------------------------------------- pages and API


def test_matches_page_groups_by_story_and_filters(desk: DeskData) -> None:
    client, _ = signed_in(desk, "viewer")
    page = client.get("/").text
    assert page.count("Alpha Semi") >= 1 and "Wire A, Wire B" in page, "one row, both outlets"
    assert "<mark>Entity List</mark>" in page
    assert "Chip tariffs" in page
    only_listings = client.get("/?tag=listings").text
    assert "Chip tariffs" not in only_listings and "Alpha Semi" in only_listings
    assert "Alpha Semi" not in client.get("/?source=Wire+E").text
    assert "Alpha Semi" not in client.get("/?since=1h").text
    assert client.get("/?since=soon").status_code == 400


def test_story_article_sources_outbox_pages(desk: DeskData) -> None:
    client, _ = signed_in(desk, "viewer")
    first = desk.article_ids["https://wire-a.example/entity-list-adds"]
    article = client.get(f"/articles/{first}").text
    assert (
        "<mark>Entity</mark> <mark>List</mark>" in article
        and "Extraction: <strong>ok</strong>" in article
    )
    matches = client.get("/api/matches").json()["stories"]
    story_id = next(s["story_id"] for s in matches if "Alpha Semi" in s["title"])
    story = client.get(f"/stories/{story_id}").text
    assert "Alpha Semi said it would appeal the decision." in story, "what the second one added"
    assert "entity-list" in story and "pending" in story, "its alerts"
    assert client.get("/stories/999999").status_code == 404
    outbox = client.get("/outbox?status=pending").text
    assert "jsonl" in outbox and "Alpha Semi" in outbox
    api_story = client.get(f"/api/stories/{story_id}").json()
    assert [a["source"] for a in api_story["articles"]] == ["Wire A", "Wire B"]


def test_preview_api_returns_matches_with_evidence_and_timing(desk: DeskData) -> None:
    token = create_token(desk.store, "script", "viewer", NOW)
    client = client_for(desk)
    auth = {"Authorization": f"Bearer {token}"}
    response = client.post(
        "/api/rules/preview",
        json={"query": '"Entity List" OR "export control*"', "days": 30, "name": "entity-list"},
        headers=auth,
    )
    body = response.json()
    assert response.status_code == 200
    titles = {m["title"] for m in body["matches"]}
    assert "New export controls on chips announced" in titles and HOSTILE_TITLE in titles
    assert "Mild weather expected this weekend" not in titles
    assert all(m["highlights"] for m in body["matches"])
    assert isinstance(body["elapsed_ms"], float)
    assert len(body["added"]) == 2 and body["lost"] == []
    assert sum(day["stories"] for day in body["stories_per_day"]) == 4
    narrow = client.post("/api/rules/preview", json={"query": '"Entity List"', "days": 1},
                         headers=auth).json()  # fmt: skip
    assert {m["title"] for m in narrow["matches"]} == {HOSTILE_TITLE}, "only the last day"
    bad = client.post("/api/rules/preview", json={"query": "(chip"}, headers=auth)
    assert bad.status_code == 422 and "syntax error" in bad.json()["error"]
    assert client.post("/api/rules/preview", content=b"[", headers=auth).status_code == 400


def test_session_secret_is_created_private_or_taken_from_the_environment(tmp_path: Path) -> None:
    first = session_secret(tmp_path / "data", environ={})
    path = tmp_path / "data" / SECRET_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert session_secret(tmp_path / "data", environ={}) == first, "kept across restarts"
    assert session_secret(tmp_path / "data", environ={SECRET_ENV: "given"}) == "given"


# --------------------------------------------------------------------------- the commands


def test_users_tokens_and_web_commands(cli: Cli, tmp_path: Path) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    added = cli("users", "add", "alice", "--role", "analyst", input="a long password\n")
    assert added.returncode == 0 and "user alice (analyst) saved" in added.stdout, added.stderr
    short = cli("users", "add", "bob", input="short\n")
    assert short.returncode == 2 and "Traceback" not in short.stderr
    assert short.stderr.strip().splitlines() == [
        "wirewatch: error: the password must have at least 8 characters"
    ]
    assert cli("users", "add", "carol", input="").returncode == 2
    token = cli("tokens", "create", "nightly", "--role", "viewer").stdout.strip()
    assert token.startswith("ww_") and len(token) > 40
    assert cli("tokens", "create", "x", "--role", "root").returncode == 2

    port = free_port()
    data = Path(cli.env["WIREWATCH_DATA_DIR"])
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "web", "--port", str(port)], env=cli.env,
        cwd=cli.env["HOME"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        answer = None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(
                    base + "/api/feeds", headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, "served with the token"
        assert httpx.get(base + "/api/feeds").status_code == 401
        session = httpx.Client(base_url=base)
        signed = session.post("/login", data={"name": "alice", "password": "a long password"})
        assert signed.status_code == 303 and session.get("/rules").status_code == 200
        assert (data / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    finally:
        process.terminate()
        process.wait(timeout=15)
