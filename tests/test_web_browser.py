"""What a person sees: Playwright drives Debian's chromium against a real uvicorn server.

Flows: sign in, open a story, edit a rule and watch the preview change, label an article
and watch precision change, save the rule. axe-core (vendored) checks the main pages for
accessibility violations. With ``WIREWATCH_SCREENSHOTS=DIR`` the main pages are saved as
PNGs there (docs/screenshots/ was made that way).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.web.app import create_app
from tests.conftest import free_port
from tests.web_helpers import NOW, PASSWORD, DeskData, build_desk

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
MAIN_PAGES = ["/", "/stories/1", "/articles/1", "/sources", "/outbox", "/rules",
              "/rules/entity-list"]  # fmt: skip

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip(
        "Debian's chromium is not installed (`make test` installs it as root)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DeskData]]:
    """The desk served by uvicorn on a loopback port, in a thread."""
    import uvicorn

    directory = tmp_path_factory.mktemp("browser")
    desk = build_desk(f"sqlite:///{directory / 'wirewatch.db'}", directory / "config")
    app = create_app(desk.store, desk.config_dir, "browser-secret", clock=lambda: NOW)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn started"
    yield f"http://127.0.0.1:{port}", desk
    uv.should_exit = True
    thread.join(timeout=10)
    desk.store.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sign_in(page: object, base: str, role: str = "analyst") -> None:
    page.goto(base + "/")  # type: ignore[attr-defined]
    page.get_by_label("Name").fill(role)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url(base + "/")  # type: ignore[attr-defined]


def test_analyst_flow_story_preview_label_save(server, browser) -> None:  # type: ignore[no-untyped-def]
    base, desk = server
    context = browser.new_context(timezone_id="Europe/Berlin", locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    expect = sync_api.expect

    sign_in(page, base)
    expect(page.get_by_role("heading", name="Matches")).to_be_visible()
    expect(page.locator("time").first).to_contain_text("CET"), "times in the viewer's zone"

    page.get_by_role("link", name="story #1").click()
    expect(page.get_by_role("heading", name="Articles")).to_be_visible()
    expect(page.locator("ol.rows > li")).to_have_count(2)
    expect(page.get_by_text("Alpha Semi said it would appeal the decision.")).to_be_attached()

    page.goto(base + "/rules/entity-list")
    count = page.locator("#match-count")
    expect(count).to_have_text("3")
    page.locator("#query").fill('"Entity List" OR "export control*"')
    expect(count).to_have_text("5", timeout=15_000)
    expect(page.locator("#added-count")).to_have_text("+2")
    page.locator("#query").fill('"Entity List" AND appeal')
    expect(count).to_have_text("1", timeout=15_000)
    expect(page.locator("#lost-count")).to_have_text("−2")

    precision = page.locator("#precision")
    expect(precision).to_have_text("–")
    first = page.locator("#preview-matches > li").first
    first.get_by_role("button", name="core").click()
    expect(precision).to_have_text("1.00", timeout=15_000)
    expect(page.locator("#preview-matches > li").first).to_contain_text("now core")

    page.get_by_role("button", name="Save to rules.yaml").click()
    expect(page.get_by_role("status")).to_contain_text("Saved to rules.yaml")
    assert '"Entity List" AND appeal' in (desk.config_dir / "rules.yaml").read_text()
    expect(page.locator("#match-count")).to_have_text("1")
    assert not [p for p in problems if "Content Security Policy" in p or "htmx" in p], problems
    context.close()


def test_viewer_sees_no_editing_controls(server, browser) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, base, role="viewer")
    page.goto(base + "/rules/chip-exports")
    sync_api.expect(page.locator("#match-count")).to_be_visible()
    assert page.get_by_role("button", name="Save to rules.yaml").count() == 0
    assert page.get_by_role("button", name="core").count() == 0
    context.close()


def test_main_pages_have_no_accessibility_violations(server, browser) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    context = browser.new_context(bypass_csp=True)  # axe is injected as a script
    page = context.new_page()
    sign_in(page, base, role="admin")
    shots = os.environ.get("WIREWATCH_SCREENSHOTS")
    found = {}
    for path in MAIN_PAGES:
        page.goto(base + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document)")
        found[path] = [(v["id"], v["help"], len(v["nodes"])) for v in result["violations"]]
        if shots:
            name = path.strip("/").replace("/", "-") or "matches"
            page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
    assert not any(found.values()), found
    context.close()
