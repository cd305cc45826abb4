"""``feeds``: the configured feeds and their health; add, remove, enable, import, export."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..clock import utcnow
from ..display import plural, when
from ..errors import ConfigError, WirewatchError
from .common import Env, duration, echo_json, friendly_errors

if TYPE_CHECKING:
    from ..config import FeedConfig
    from ..feedlist import FeedsYaml
    from ..store import FeedState

STALE_AFTER = timedelta(days=14)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed and line.")
@click.pass_context
@friendly_errors
def feeds(ctx: click.Context, as_json: bool) -> None:
    """List the configured feeds: last fetch, outcome, error, next check, disabled ones.

    Subcommands add, remove, enable, import and export manage the list in feeds.yaml.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..alert_times import describe_delay

    env: Env = ctx.obj
    now = utcnow()
    configured = env.config.feeds.feeds
    stored, newest, delays = _stored_states(env, now)
    if not configured and not as_json:
        click.echo(f"no feeds configured in {env.config.directory / 'feeds.yaml'}")
    for feed in configured:
        state = stored.get(feed.url)
        latest = newest.get(state.id) if state else None
        stale = bool(state and state.last_success_at and latest and now - latest > STALE_AFTER)
        delay = delays.get(state.id) if state else None
        if as_json:
            echo_json({**feed_record(feed, state, latest, stale, now), "typical_delay_s": delay})
        else:
            lines = feed_text(feed, state, latest, stale, now)
            if delay is not None:
                lines.append(f"    typical delay: {describe_delay(delay)} from publication")
            click.echo("\n".join(lines))


def _stored_states(
    env: Env, now: datetime
) -> tuple[dict[str, FeedState], dict[int, datetime], dict[int, float]]:
    """What the database knows of each feed (and each feed's typical delay from
    publication to first sighting); nothing when no database exists yet (the feeds are
    listed as never fetched, and no database is created)."""
    from ..alert_times import feed_delays
    from .dbcheck import MissingDatabase

    try:
        store = env.read_store()
    except MissingDatabase:
        return {}, {}, {}
    states = {state.url: state for state in store.feed_states()}
    return states, store.newest_items(), feed_delays(store, now)


def feed_text(
    feed: FeedConfig,
    state: FeedState | None,
    latest: datetime | None,
    stale: bool,
    now: datetime | None = None,
) -> list[str]:
    lines = [feed.label, f"    {feed.url}"]
    if state is None:
        return [*lines, "    never fetched"]
    if not state.enabled:
        lines.append(f"    DISABLED: {state.disabled_reason} (wirewatch feeds enable to retry)")
    line = (
        f"    {state.last_outcome or 'never fetched'}, last checked {when(state.last_checked_at)}"
    )
    line += f", last success {when(state.last_success_at)}"
    if state.consecutive_failures:
        line += f", {plural(state.consecutive_failures, 'failure')} in a row"
    if state.enabled and state.next_check_at:
        line += f", next check {when(state.next_check_at)}"
    lines.append(line)
    if state.last_error:
        lines.append(f"    error: {state.last_error}")
    if state.fetch_url:
        lines.append(f"    moved permanently to {state.fetch_url} (update feeds.yaml)")
    if now is not None and state.leased(now):
        lines.append(f"    leased by {state.lease_owner} until {when(state.lease_until)}")
    if stale:
        lines.append(f"    stale: newest item from {when(latest)}; the feed may be frozen")
    return lines


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def feed_record(
    feed: FeedConfig,
    state: FeedState | None,
    latest: datetime | None,
    stale: bool,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The ``feeds --json`` contract: one object per configured feed."""
    leased = bool(state and now is not None and state.leased(now))
    return {
        "name": feed.name,
        "url": feed.url,
        "interval_seconds": int(feed.interval.total_seconds()),
        "enabled": state.enabled if state else True,
        "disabled_reason": state.disabled_reason if state else None,
        "last_outcome": state.last_outcome if state else None,
        "last_error": state.last_error if state else None,
        "last_checked_at": _iso(state.last_checked_at) if state else None,
        "last_success_at": _iso(state.last_success_at) if state else None,
        "next_check_at": _iso(state.next_check_at) if state else None,
        "consecutive_failures": state.consecutive_failures if state else 0,
        "moved_to": state.fetch_url if state else None,
        "newest_item_at": _iso(latest),
        "stale": stale,
        "lease_owner": state.lease_owner if state and leased else None,
        "lease_until": _iso(state.lease_until) if state and leased else None,
    }


def _feeds_file(env: Env) -> FeedsYaml:
    from ..config import resolve_config_dir
    from ..feedlist import FeedsYaml

    return FeedsYaml(resolve_config_dir(env.config_dir) / "feeds.yaml")


@feeds.command("add")
@click.argument("url")
@click.option("--name", help="A name for the feed (default: the feed's own title).")
@click.option("--interval", help="How often to poll it, e.g. 15m (default: 15m).")
@click.pass_obj
@friendly_errors
def feeds_add(env: Env, url: str, name: str | None, interval: str | None) -> None:
    """Add the feed at URL to feeds.yaml; a web page's announced feed is found too.

    The URL is fetched first: a feed is added as it is; an HTML page is searched for
    <link rel="alternate"> feed links and the first working one is added.
    """
    from ..feedlist import FeedItem, discover_feeds
    from ..fetch import Fetcher
    from ..parse import parse_feed

    if interval:
        duration(interval, "--interval")
    fetcher = Fetcher(env.config.feeds.fetch)
    try:
        result = fetcher.get(url)
        if not result.ok:
            raise WirewatchError(f"{url}: {result.outcome}: {result.error}")
        candidates = [url]
        if b"<html" in result.body[:2048].lower():
            candidates = discover_feeds(result.body, result.final_url or url)
            if not candidates:
                raise WirewatchError(f"{url} is a web page that announces no feed")
        for candidate in candidates:
            fetched = result if candidate == url else fetcher.get(candidate)
            if not fetched.ok:
                continue
            try:
                parsed = parse_feed(fetched.body, content_type=fetched.content_type, now=utcnow())
            except WirewatchError:
                continue
            item = FeedItem(candidate, name or parsed.title)
            added = _feeds_file(env).add([item], interval)
            verb = "added" if added else "already listed"
            entries = plural(len(parsed.entries), "entry", "entries")
            click.echo(f"{verb}: {item.name or item.url} <{item.url}> ({entries})")
            return
        raise WirewatchError(f"no working feed found at {url}")
    finally:
        fetcher.close()


@feeds.command("remove")
@click.argument("key", metavar="URL_OR_NAME")
@click.pass_obj
@friendly_errors
def feeds_remove(env: Env, key: str) -> None:
    """Remove a feed from feeds.yaml (its stored articles and history stay)."""
    removed = _feeds_file(env).remove(key)
    if removed is None:
        raise ConfigError(f"no feed with URL or name {key!r} in {_feeds_file(env).path}")
    click.echo(f"removed: {removed.name or removed.url}")


@feeds.command("enable")
@click.argument("key", metavar="URL_OR_NAME")
@click.pass_obj
@friendly_errors
def feeds_enable(env: Env, key: str) -> None:
    """Re-enable a feed that was disabled (410 Gone, repeated errors); it is due now."""
    state = env.store().enable_feed(key, utcnow())
    if state is None:
        raise ConfigError(f"no stored feed with URL or name {key!r}")
    click.echo(f"enabled: {state.label}")


@feeds.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--interval", help="Poll interval for the imported feeds, e.g. 30m.")
@click.pass_obj
@friendly_errors
def feeds_import(env: Env, opml: Path, interval: str | None) -> None:
    """Add every feed of an OPML file (from another reader) to feeds.yaml."""
    from ..config import FeedConfig
    from ..feedlist import parse_opml
    from ..progress import track

    if interval:
        duration(interval, "--interval")
    items = parse_opml(opml.read_bytes(), str(opml))
    valid = []
    for item in track(items, "checking feeds", total=len(items)):
        try:
            FeedConfig(url=item.url, name=item.name)
        except ValueError:
            click.echo(f"skipped (not an http(s) URL): {item.url}", err=True)
            continue
        valid.append(item)
    added = _feeds_file(env).add(valid, interval)
    already = len(valid) - len(added)
    click.echo(f"{plural(len(added), 'feed')} added, {already} already listed")


@feeds.command("export")
@click.argument("output", type=click.File("w", encoding="utf-8"), default="-")
@click.pass_obj
@friendly_errors
def feeds_export(env: Env, output: Any) -> None:
    """Write the configured feeds as OPML to OUTPUT (default: standard output)."""
    from ..feedlist import to_opml

    output.write(to_opml(env.config.feeds.feeds))
