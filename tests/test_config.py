from pathlib import Path

import pytest

from pipeline.config import load_config, parse_duration
from pipeline.errors import ConfigError
from tests.conftest import ROOT, write_config


def test_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config")
    assert config.feeds.feeds and config.rules.rules and config.alerts.routes
    assert all(feed.url.startswith("https://") for feed in config.feeds.feeds)


def test_durations() -> None:
    assert parse_duration("15m").total_seconds() == 900
    assert parse_duration(90).total_seconds() == 90
    assert parse_duration("7d").days == 7
    with pytest.raises(ValueError):
        parse_duration("soon")


def _broken(tmp_path: Path, name: str, content: str) -> str:
    write_config(tmp_path, feeds=[{"url": "https://x.example/feed"}])
    (tmp_path / name).write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    return str(caught.value)


def test_misspelt_key_names_file_and_key(tmp_path: Path) -> None:
    message = _broken(
        tmp_path, "feeds.yaml", "feeds:\n  - url: https://x.example/f\n    intervall: 5m\n"
    )
    assert (
        message
        == f"{tmp_path / 'feeds.yaml'}: feeds[0].intervall: unknown key (check the spelling)"
    )


def test_bad_value_names_the_feed(tmp_path: Path) -> None:
    message = _broken(
        tmp_path,
        "feeds.yaml",
        "feeds:\n  - url: https://x.example/f\n    name: Wire\n    interval: often\n",
    )
    assert "feeds.yaml: feeds[0] (Wire).interval: 'often' is not a duration" in message


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    message = _broken(tmp_path, "rules.yaml", "rules:\n  - name: x\n    query: [unclosed\n")
    assert "rules.yaml:" in message and "invalid YAML" in message


def test_non_http_feed_url(tmp_path: Path) -> None:
    message = _broken(tmp_path, "feeds.yaml", "feeds:\n  - url: file:///etc/passwd\n")
    assert "feeds[0].url: 'file:///etc/passwd' is not an http:// or https:// URL" in message


def test_route_to_unknown_channel(tmp_path: Path) -> None:
    message = _broken(
        tmp_path,
        "alerts.yaml",
        "channels:\n  c: {type: console}\nroutes:\n  - name: r\n    channels: [slack]\n",
    )
    assert message.endswith("alerts.yaml: routes[0] (r).channels: no channel named 'slack'")


def test_unknown_channel_type(tmp_path: Path) -> None:
    message = _broken(tmp_path, "alerts.yaml", "channels:\n  c: {type: pager}\n")
    assert "alerts.yaml: channels.c" in message


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config directory not found"):
        load_config(tmp_path / "nope")
