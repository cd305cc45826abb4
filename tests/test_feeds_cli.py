"""Managing feeds from the command line: feeds.yaml is edited in place."""

from pathlib import Path

from tests.conftest import Cli, LocalServer, rss, write_config


def test_add_discovers_the_feed_of_a_page_and_keeps_comments(
    cli: Cli, http_server: LocalServer
) -> None:
    http_server.add("/feed.xml", rss([{"title": "One", "guid": "1"}], title="Tariff Tracker"))
    http_server.add(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>Hi</body></html>',
        content_type="text/html",
    )
    config = write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    feeds_yaml = config / "feeds.yaml"
    feeds_yaml.write_text("# my feeds, keep this comment\n" + feeds_yaml.read_text())
    result = cli("feeds", "add", http_server.url("/"), "--interval", "30m")
    assert result.returncode == 0, result.stderr
    assert f"added: Tariff Tracker <{http_server.url('/feed.xml')}> (1 entry)" in result.stdout
    text = feeds_yaml.read_text()
    assert "# my feeds, keep this comment" in text and "interval: 30m" in text
    assert "already listed" in cli("feeds", "add", http_server.url("/feed.xml")).stdout
    listed = cli("feeds")
    assert "Tariff Tracker" in listed.stdout and "never fetched" in listed.stdout
    assert not (Path(cli.env["WIREWATCH_DATA_DIR"]) / "wirewatch.db").exists(), (
        "listing feeds creates no database"
    )


def test_add_refuses_a_page_without_a_feed(cli: Cli, http_server: LocalServer) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    http_server.add("/plain", "<html><body>No feed here</body></html>", content_type="text/html")
    result = cli("feeds", "add", http_server.url("/plain"))
    assert result.returncode == 1 and "announces no feed" in result.stderr


def test_opml_round_trip_and_remove(cli: Cli, tmp_path: Path) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    opml = tmp_path / "reader.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>r</title></head><body>'
        '<outline text="Policy"><outline text="BIS rules" xmlUrl="https://www.federalregister.gov/bis.rss"/>'
        '<outline text="Chips &amp; trade" xmlUrl="https://chips.example/feed"/></outline>'
        '<outline text="Bad" xmlUrl="ftp://old.example/feed"/></body></opml>'
    )
    result = cli("feeds", "import", str(opml))
    assert "2 feeds added, 0 already listed" in result.stdout and "skipped" in result.stderr
    exported = cli("feeds", "export").stdout
    assert (
        'xmlUrl="https://chips.example/feed"' in exported and 'text="Chips &amp; trade"' in exported
    )
    assert "removed: BIS rules" in cli("feeds", "remove", "BIS rules").stdout
    assert "federalregister" not in cli("feeds", "export").stdout
    assert cli("feeds", "remove", "nope").returncode == 2


def test_gone_feed_is_disabled_then_enabled(cli: Cli, http_server: LocalServer) -> None:
    url = http_server.add("/gone.xml", "gone", status=410)
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[{"url": url, "name": "Old wire"}])
    cli("run-once")
    assert "DISABLED: the feed is gone (HTTP 410)" in cli("feeds").stdout
    assert "0 feeds (0 ok, 0 failed)" in cli("run-once").stdout, "a disabled feed is not fetched"
    assert "enabled: Old wire" in cli("feeds", "enable", "Old wire").stdout
    assert "1 feed (0 ok, 1 failed)" in cli("run-once").stdout


def test_frozen_feed_is_flagged_stale(cli: Cli, http_server: LocalServer) -> None:
    old = http_server.add(
        "/old.xml",
        rss([{"title": "Old news", "guid": "o", "date": "Mon, 06 Jan 2025 08:00:00 GMT"}]),
    )
    fresh = http_server.add("/fresh.xml", rss([{"title": "Fresh news", "guid": "f"}]))
    write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[{"url": old, "name": "Frozen"}, {"url": fresh, "name": "Live"}],
        fetch={"fetch_pages": False},
    )
    cli("run-once")
    listed = cli("feeds").stdout
    frozen, live = listed.split("Live")
    assert "stale: newest item from 2025-01-06 08:00" in frozen
    assert "stale" not in live
