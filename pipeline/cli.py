"""The command line: each command parses its options, calls the library, and turns a
``WirewatchError`` into one line on stderr and an exit code.

Exit codes: 0 done; 1 unexpected error or bad input; 2 invalid config or usage;
3 database unreachable or not migrated; 4 another run holds the lock.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .alert_times import describe_delay, describe_time_to_alert, feed_delays, with_time_to_alert
from .config import (
    Config,
    FeedConfig,
    load_config,
    load_entities,
    load_rules_file,
    load_settings,
    parse_duration,
    resolve_config_dir,
)
from .database import (
    data_dir,
    database_url,
    installation_id,
    is_sqlite,
    open_database,
    redact,
)
from .errors import BusyError, ConfigError, WirewatchError
from .feedlist import FeedsYaml
from .locks import RunLock
from .match import RuleSet
from .run import CycleSummary, Pipeline, run_cycle, utcnow
from .secrets import MaskingFilter
from .store import Store

F = TypeVar("F", bound=Callable[..., Any])
STALE_AFTER = timedelta(days=14)
log = logging.getLogger("wirewatch")


@dataclass
class Env:
    """What the commands share: where the config and database are, opened lazily."""

    config_dir: str | None
    db_url: str | None

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_dir)

    def store(self, *, auto_migrate: bool | None = None) -> Store:
        window = load_settings(resolve_config_dir(self.config_dir)).dedupe.story_window
        engine = open_database(database_url(self.db_url), auto_migrate=auto_migrate)
        return Store(engine, story_window=window)

    def pipeline(self) -> Pipeline:
        config = self.config
        return Pipeline.build(config, self.store())


def friendly_errors(command: F) -> F:
    """Print a ``WirewatchError`` as one line and exit with its code; no traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except WirewatchError as exc:
            click.echo(f"wirewatch: error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, for log collectors (``--log-format json``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _setup_logging(verbose: int, quiet: bool) -> None:
    """Without -v only errors are logged: commands print their own summaries of the rest."""
    levels = {0: logging.ERROR, 1: logging.INFO}
    level = logging.ERROR if quiet else levels.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    if click.get_current_context().meta.get("log_format") == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(MaskingFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    noisy_loggers = ("httpx", "httpcore", "trafilatura", "htmldate", "courlan", "apscheduler")
    for noisy in (*noisy_loggers, "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_dir",
    envvar="WIREWATCH_CONFIG",
    metavar="DIR",
    help="Config directory with feeds.yaml, rules.yaml, alerts.yaml "
    "[default: ./config, else the shipped defaults; env WIREWATCH_CONFIG].",
)
@click.option(
    "--db",
    "db_url",
    envvar="DATABASE_URL",
    metavar="URL",
    help="Database URL, e.g. postgresql://user@host/db [default: SQLite file "
    "wirewatch.db in the data directory; env DATABASE_URL].",
)
@click.option(
    "-v", "--verbose", count=True, help="Log progress (-v) or debug detail (-vv) to stderr."
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per log line.",
)
@click.version_option(__version__, prog_name="wirewatch")
@click.pass_context
def cli(
    ctx: click.Context, config_dir: str | None, db_url: str | None, verbose: int, log_format: str
) -> None:
    """wirewatch: news ingestion and alerting for export controls and the chip trade.

    Fetches RSS/Atom feeds, extracts each article, recognises duplicates, matches the
    rules in rules.yaml, stores everything and sends alerts through the channels in
    alerts.yaml. Data lives in WIREWATCH_DATA_DIR (default: the user data directory).
    """
    ctx.obj = Env(config_dir, db_url)
    ctx.meta["verbose"] = verbose
    ctx.meta["log_format"] = log_format


# --------------------------------------------------------------------------- cycles


@cli.command("run-once")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems (for cron mail).")
@click.pass_obj
@click.pass_context
@friendly_errors
def run_once(ctx: click.Context, env: Env, quiet: bool) -> None:
    """Run one full cycle over all configured feeds, deliver alerts, and exit (for cron).

    Prints one summary line: feeds ok/failed, new articles, matches and alerts, and one
    line per failing feed. Exits 0 when the cycle completed, even if some feeds failed.
    """
    _setup_logging(ctx.meta["verbose"], quiet)
    pipeline = env.pipeline()
    lock = RunLock(pipeline.store.engine)
    if not lock.acquire():
        pipeline.close()
        raise BusyError(
            f"another wirewatch run is in progress on {redact(str(pipeline.store.engine.url))}; "
            "this one exits without doing anything"
        )
    try:
        summary = run_cycle(pipeline)
    finally:
        lock.release()
        pipeline.close()
    _print_summary(summary, quiet)


def _print_summary(summary: CycleSummary, quiet: bool) -> None:
    failed = summary.feeds_failed
    if not quiet:
        delivery = summary.delivery
        click.echo(
            f"wirewatch: {len(summary.feeds)} feeds ({summary.feeds_ok} ok, {len(failed)} failed), "
            f"{summary.new_articles} new articles, {summary.duplicates} duplicates, "
            f"{summary.matches} matches, {summary.alerts} new alerts "
            f"({delivery.sent} sent, {delivery.retrying} to retry, {delivery.dead} dead)"
        )
    for report in failed:
        click.echo(f"  feed failed: {report.feed}: {report.outcome}: {report.error}")
    if summary.entry_errors:
        click.echo(f"  {summary.entry_errors} entries failed unexpectedly; see the log (-v)")


@cli.command()
@click.option(
    "--metrics-port", type=int, metavar="PORT",
    help="Serve Prometheus /metrics and /healthz on 127.0.0.1:PORT.",
)  # fmt: skip
@click.pass_obj
@click.pass_context
@friendly_errors
def worker(ctx: click.Context, env: Env, metrics_port: int | None) -> None:
    """Run until stopped: poll each feed on its interval and deliver alerts.

    Stops cleanly on SIGINT (Ctrl-C) or SIGTERM, letting running jobs finish. SIGHUP
    reloads feeds, rules, entities and alerts; an invalid config is logged and the last
    valid one stays in use.
    """
    from .worker import run_worker

    _setup_logging(max(ctx.meta["verbose"], 1), quiet=False)
    pipeline = env.pipeline()
    lock = RunLock(pipeline.store.engine)
    if is_sqlite(pipeline.store.engine) and not lock.acquire():
        pipeline.close()
        raise BusyError(
            "another wirewatch process is using this SQLite database; SQLite runs one worker "
            "at a time (use PostgreSQL, DATABASE_URL, for several)"
        )
    try:
        run_worker(pipeline, load=lambda: load_config(env.config_dir), metrics_port=metrics_port)
    finally:
        lock.release()
        pipeline.close()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--check", is_flag=True, help="Exit with code 5 if a feed is failing or disabled.")
@click.pass_obj
@friendly_errors
def status(env: Env, as_json: bool, check: bool) -> None:
    """Show what needs attention: feeds due, failing and disabled; articles and matches in
    the last 24 h; pending and dead alerts; worker heartbeats."""
    from .feedwatch import CHECK_FAILED, needs_attention

    figures = with_time_to_alert(env.store(), utcnow())
    _print_status(figures, as_json)
    if check and needs_attention(figures):
        sys.exit(CHECK_FAILED)


def _print_status(figures: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(figures))
        return
    alerts = figures["alerts"]
    click.echo(
        f"feeds: {figures['feeds']} ({figures['feeds_due']} due, {figures['feeds_failing']} "
        f"failing, {figures['feeds_disabled']} disabled)"
    )
    click.echo(f"last 24 h: {figures['articles_24h']} articles, {figures['matches_24h']} matches")
    click.echo(
        f"alerts: {alerts['pending']} pending, {alerts['sending']} sending, "
        f"{alerts['sent']} sent, {alerts['dead']} dead"
    )
    for record in figures["workers"]:
        click.echo(_worker_line(record))
    if not figures["workers"]:
        click.echo("no worker has run against this database")
    for problem in figures["feed_problems"]:
        click.echo(f"feed {problem['feed']}: {problem['state']}: {problem['detail']}")
    for line in describe_time_to_alert(figures["time_to_alert"]):
        click.echo(line)


def _worker_line(record: dict[str, Any]) -> str:
    line = f"worker {record['worker']}: started {record['started']}, "
    if record["stopped"]:
        return line + f"stopped {record['stopped']}"
    line += f"last heartbeat {record['heartbeat']} ({record['heartbeat_age_seconds']:.0f} s ago)"
    return line + (", STALE: presumed dead; its leases expire" if record["stale"] else "")


@cli.command()
@click.option(
    "--older-than", default="90d", show_default=True, help="Age of the articles to prune."
)
@click.pass_obj
@friendly_errors
def prune(env: Env, older_than: str) -> None:
    """Delete the text of articles older than this; matches, stories and alerts stay."""
    cutoff = utcnow() - _duration(older_than, "--older-than")
    count = env.store().prune(cutoff)
    click.echo(f"pruned the text of {count} articles fetched before {_when(cutoff)}")


@cli.command()
@click.pass_obj
@friendly_errors
def migrate(env: Env) -> None:
    """Create or upgrade the database schema (run-once and worker do this on SQLite)."""
    url = database_url(env.db_url)
    open_database(url, auto_migrate=True)
    click.echo(f"database {redact(url)} is up to date")


# --------------------------------------------------------------------------- reading


@cli.command()
@click.option("--since", default="24h", show_default=True, help="How far back: 90m, 24h, 7d …")
@click.option("--rule", metavar="NAME", help="Only matches of this rule.")
@click.option("--limit", default=200, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@friendly_errors
def matches(env: Env, since: str, rule: str | None, limit: int, as_json: bool) -> None:
    """List recent matches, newest first."""
    cutoff = utcnow() - _duration(since, "--since")
    found = env.store().recent_matches(cutoff, rule, limit)
    if as_json:
        for view in found:
            click.echo(json.dumps(_match_record(view), ensure_ascii=False))
        return
    if not found:
        click.echo(f"no matches in the last {since}" + (f" for rule {rule}" if rule else ""))
        return
    for view in found:
        click.echo(f"{_when(view.created_at)}  {view.rule}  score {view.score:g}  {view.title}")
        click.echo(f"    {view.source} · {view.url}")
        if view.entities:
            click.echo(f"    entities: {', '.join(view.entities)}")
        for snippet in view.highlights:
            click.echo(f"    › {snippet}")


def _match_record(view: Any) -> dict[str, Any]:
    return {
        "rule": view.rule,
        "score": view.score,
        "terms": list(view.terms),
        "highlights": list(view.highlights),
        "matched_at": view.created_at.isoformat(),
        "title": view.title,
        "url": view.url,
        "source": view.source,
        "published": view.published.isoformat() if view.published else None,
        "story": view.story_id,
        "entities": list(view.entities),
    }


@cli.group(invoke_without_command=True)
@click.pass_context
@friendly_errors
def feeds(ctx: click.Context) -> None:
    """List the configured feeds: last fetch, outcome, error, next check, disabled ones.

    Subcommands add, remove, enable, import and export manage the list in feeds.yaml.
    """
    if ctx.invoked_subcommand is not None:
        return
    env: Env = ctx.obj
    now = utcnow()
    store = env.store()
    states = store.sync_feeds(env.config.feeds.feeds, now)
    newest = store.newest_items()
    delays = feed_delays(store, now)
    if not states:
        click.echo(f"no feeds configured in {env.config.directory / 'feeds.yaml'}")
    for state in states:
        click.echo(f"{state.label}\n    {state.url}")
        if not state.enabled:
            click.echo(f"    DISABLED: {state.disabled_reason} (wirewatch feeds enable to retry)")
        outcome = state.last_outcome or "never fetched"
        line = f"    {outcome}, last checked {_when(state.last_checked_at)}"
        line += f", last success {_when(state.last_success_at)}"
        if state.consecutive_failures:
            line += f", {state.consecutive_failures} failures in a row"
        if state.enabled and state.next_check_at:
            line += f", next check {_when(state.next_check_at)}"
        click.echo(line)
        if state.last_error:
            click.echo(f"    error: {state.last_error}")
        if state.id in delays:
            click.echo(f"    typical delay: {describe_delay(delays[state.id])} from publication")
        if state.fetch_url:
            click.echo(f"    moved permanently to {state.fetch_url} (update feeds.yaml)")
        if state.leased(now):
            click.echo(f"    leased by {state.lease_owner} until {_when(state.lease_until)}")
        latest = newest.get(state.id)
        if state.last_success_at and latest and now - latest > STALE_AFTER:
            click.echo(f"    stale: newest item from {_when(latest)}; the feed may be frozen")


def _feeds_file(env: Env) -> FeedsYaml:
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
    from .feedlist import FeedItem, discover_feeds
    from .fetch import Fetcher
    from .parse import parse_feed

    if interval:
        _duration(interval, "--interval")
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
            click.echo(
                f"{verb}: {item.name or item.url} <{item.url}> ({len(parsed.entries)} entries)"
            )
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
    from .feedlist import parse_opml

    items = parse_opml(opml.read_bytes(), str(opml))
    valid = []
    for item in items:
        try:
            FeedConfig(url=item.url, name=item.name)
        except ValueError:
            click.echo(f"skipped (not an http(s) URL): {item.url}", err=True)
            continue
        valid.append(item)
    added = _feeds_file(env).add(valid, interval)
    click.echo(f"{len(added)} feeds added, {len(valid) - len(added)} already listed")


@feeds.command("export")
@click.argument("output", type=click.File("w", encoding="utf-8"), default="-")
@click.pass_obj
@friendly_errors
def feeds_export(env: Env, output: Any) -> None:
    """Write the configured feeds as OPML to OUTPUT (default: standard output)."""
    from .feedlist import to_opml

    output.write(to_opml(env.config.feeds.feeds))


@cli.command()
@click.option(
    "--since", default="24h", show_default=True, help="Stories seen since: 90m, 24h, 7d …"
)
@click.option("--limit", default=100, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@friendly_errors
def stories(env: Env, since: str, limit: int, as_json: bool) -> None:
    """List recent stories, newest first, with their outlets and article count.

    A story is one news event: the first article and every copy, syndicated version or
    update of it that wirewatch recognised as the same story.
    """
    cutoff = utcnow() - _duration(since, "--since")
    found = env.store().stories(cutoff, limit)
    for story in found:
        if as_json:
            record = {
                "story": story.id,
                "title": story.title,
                "first_seen": story.first_seen_at.isoformat(),
                "last_seen": story.last_seen_at.isoformat(),
                "articles": story.article_count,
                "outlets": list(story.outlets),
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        count = f"{story.article_count} article" + ("s" if story.article_count != 1 else "")
        click.echo(f"#{story.id}  {_when(story.first_seen_at)}  {count}  {story.title}")
        click.echo(f"    outlets: {', '.join(story.outlets) or '-'}")
    if not found and not as_json:
        click.echo(f"no stories in the last {since}")


@cli.group(invoke_without_command=True)
@click.option(
    "--status", type=click.Choice(["pending", "sending", "sent", "dead"]), help="Only this status."
)
@click.option("--limit", default=50, show_default=True, help="At most this many.")
@click.pass_context
@friendly_errors
def alerts(ctx: click.Context, status: str | None, limit: int) -> None:
    """List alerts in the outbox, newest first (subcommands: retry, test).

    Each alert is one (rule, story, channel): pending until sent, retried with backoff on
    temporary failures, dead after a permanent failure or too many attempts.
    """
    if ctx.invoked_subcommand is not None:
        return
    found = ctx.obj.store().alerts(status, limit)
    for view in found:
        error = f"  ({view.last_error})" if view.last_error else ""
        if view.status == "sending" and view.lease_owner:
            error += f"  [held by {view.lease_owner} until {_when(view.lease_until)}]"
        click.echo(
            f"#{view.id} {view.status:<7} {view.channel:<12} {view.rule:<28} "
            f"{_when(view.created_at)}  attempts {view.attempts}  {view.title[:70]}{error}"
        )
    if not found:
        click.echo("no alerts" + (f" with status {status}" if status else ""))


@alerts.command("retry")
@click.option("--dead", is_flag=True, help="Re-queue dead alerts (with fresh attempts).")
@click.pass_obj
@friendly_errors
def alerts_retry(env: Env, dead: bool) -> None:
    """Make alerts due now: those waiting for a retry, or with --dead the dead ones.

    They are sent by the next `wirewatch run-once` or within 30 s by a running worker.
    """
    count = env.store().requeue(utcnow(), dead=dead)
    click.echo(f"{count} {'dead' if dead else 'pending'} alerts re-queued")


@alerts.command("test")
@click.argument("channel")
@click.pass_obj
@friendly_errors
def alerts_test(env: Env, channel: str) -> None:
    """Send a test alert through CHANNEL (a name in alerts.yaml) and report the result."""
    from .alert import build_channels
    from .types import AlertMessage

    channels = build_channels(env.config.alerts, data_dir())
    if channel not in channels:
        known = ", ".join(sorted(channels)) or "none"
        raise ConfigError(f"no channel named {channel!r} in alerts.yaml (known: {known})")
    message = AlertMessage(
        key=f"test/{channel}/{utcnow().isoformat()}",
        rule="test",
        title="wirewatch test alert: this channel works",
        url="https://github.com/wirewatch/wirewatch",
        source="wirewatch",
        score=1.0,
        published=utcnow(),
        highlights=("This is a **test** message sent by `wirewatch alerts test`.",),
    )
    channels[channel].send(message)
    click.echo(f"test alert sent to {channel}")


@cli.command()
@click.option("--route", "route_name", metavar="NAME", help="Only this digest route.")
@click.option("--dry-run", is_flag=True, help="Show the digest instead of sending it.")
@click.pass_obj
@friendly_errors
def digest(env: Env, route_name: str | None, dry_run: bool) -> None:
    """Build and send the digests of the digest routes now (or show them with --dry-run).

    A running worker sends them on each route's schedule; this sends what is pending now.
    """
    from .alert import build_channels, preview_digest, send_digest
    from .alert.console import render_digest

    config = env.config
    routes = [r for r in config.alerts.routes if r.mode == "digest"]
    if route_name:
        routes = [r for r in routes if r.name == route_name]
        if not routes:
            raise ConfigError(f"no digest route named {route_name!r} in alerts.yaml")
    store = env.store()
    now = utcnow()
    for route in routes:
        if dry_run:
            previews = preview_digest(store, route, now)
            for preview in previews:
                click.echo(render_digest(preview) + "\n")
            if not previews:
                click.echo(f"{route.name}: nothing pending")
            continue
        channels = build_channels(config.alerts, data_dir(), installation_id(store.engine))
        report = send_digest(store, channels, route, now, config.alerts.delivery, utcnow)
        click.echo(f"{route.name}: {report.sent} digests sent, {report.retrying} to retry")
        for error in report.errors:
            click.echo(f"  failed: {error}")


# --------------------------------------------------------------------------- rules and replay


@cli.group()
def rules() -> None:
    """Check rule files and try them on an archive."""


@rules.command("check")
@click.argument("rules_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
@friendly_errors
def rules_check(env: Env, rules_file: Path | None) -> None:
    """Validate every rule of RULES_FILE (default: rules.yaml of the config directory).

    Errors name the file, the rule and the position in its query; exit code 2.
    """
    path, ruleset = _load_ruleset(env, rules_file)
    click.echo(f"{path}: {len(ruleset.rules)} rules OK ({len(ruleset.entities)} entities)")


@rules.command("test")
@click.argument("rules_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("articles", type=click.File("r", encoding="utf-8"))
@click.option("--examples", default=3, show_default=True, help="Examples shown per rule.")
@click.option(
    "--labels",
    "labels_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON Lines labels (id, label core|related|quiet, rule?): print precision, "
    "recall and F1 overall and per rule, with the false positives and negatives.",
)
@click.option(
    "--unlabelled",
    type=click.Choice(["ignore", "quiet"]),
    default="ignore",
    show_default=True,
    help="With --labels: leave unlabelled articles out, or count them as quiet.",
)
@click.option("--json", "as_json", is_flag=True, help="With --labels: one JSON object.")
@click.pass_obj
@friendly_errors
def rules_test(
    env: Env,
    rules_file: Path,
    articles: Any,
    examples: int,
    labels_file: Path | None,
    unlabelled: str,
    as_json: bool,
) -> None:
    """Try a draft RULES_FILE on an archive (ARTICLES: JSON Lines, or - for stdin).

    Prints, for each rule, how many articles it matched and a few examples with their
    evidence, so a rule can be judged before it is deployed. Nothing is stored or sent.
    With --labels, measures the rules against labelled articles instead (docs/rules.md).
    """
    from .rules_test import predict, run_labelled, to_stderr

    _, ruleset = _load_ruleset(env, rules_file)
    if labels_file is not None or as_json:
        if labels_file is None:
            raise click.UsageError("--json needs --labels")
        click.echo(run_labelled(ruleset, articles, labels_file, unlabelled == "quiet", as_json))
        return
    hits: dict[str, list[tuple[Any, str, str]]] = {rule.name: [] for rule in ruleset.rules}
    predictions = predict(articles, ruleset, to_stderr)
    for prediction in predictions:
        for hit in prediction.hits:
            hits[hit.rule].append((prediction.id, prediction.title, hit.evidence))
    total, matched = len(predictions), sum(bool(p.hits) for p in predictions)
    click.echo(f"{total} articles, {matched} matched at least one rule")
    for name, found in hits.items():
        click.echo(f"\n{name}: {len(found)} matches")
        for item_id, title, evidence in found[:examples]:
            click.echo(f"  - {item_id}: {title}")
            if evidence:
                click.echo(f"      › {evidence}")


def _load_ruleset(env: Env, rules_file: Path | None) -> tuple[Path, RuleSet]:
    """Rules from RULES_FILE or the config directory, with the entities.yaml beside them."""
    config_dir = resolve_config_dir(env.config_dir)
    path = rules_file or config_dir / "rules.yaml"
    beside = path.parent if (path.parent / "entities.yaml").exists() else config_dir
    entities = load_entities(beside).entities
    return path, RuleSet.from_config(load_rules_file(path).rules, str(path), entities)


@cli.command()
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Exactly one JSON object per input line.")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this rules file instead of the config's rules.yaml.",
)
@click.option(
    "--db",
    "replay_db",
    metavar="URL",
    help="Dedupe against (and store into) this database instead of a fresh in-memory one.",
)
@click.pass_obj
@friendly_errors
def replay(
    env: Env, source: Any, as_json: bool, rules_file: Path | None, replay_db: str | None
) -> None:
    """Dedupe and match a JSON Lines archive (SOURCE, or - for stdin); nothing is sent.

    Each line: {"id", "title", "text", "url"?, "published"?, "source"?}. With --json,
    prints {"id", "duplicate_of", "story", "matches": [{"rule", "score", "highlights"}]}
    per input, in input order. Exits 1 if any input line was invalid.
    """
    from .replay import replay as run_replay

    _, matcher = _load_ruleset(env, rules_file)
    url = replay_db or "sqlite://"
    window = load_settings(resolve_config_dir(env.config_dir)).dedupe.story_window
    store = Store(open_database(url, auto_migrate=True), story_window=window)
    failed = 0
    for result in run_replay(source, matcher, store, utcnow):
        failed += result.error is not None
        if as_json:
            click.echo(result.to_json())
        elif result.error:
            click.echo(f"{result.id}: error: {result.error}")
        else:
            verdict = f"duplicate of {result.duplicate_of}" if result.duplicate_of else "new"
            rules_hit = ", ".join(f"{m.rule} ({m.score:g})" for m in result.matches) or "no match"
            click.echo(f"{result.id}: {verdict}, story {result.story}: {rules_hit}")
    if failed:
        click.echo(f"wirewatch: {failed} invalid input lines", err=True)
        sys.exit(1)


# --------------------------------------------------------------------------- demo


@cli.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo database and alert file in this directory.",
)
@click.pass_context
@friendly_errors
def demo(ctx: click.Context, keep: Path | None) -> None:
    """Run the real pipeline offline on bundled sample feeds served from a local port.

    Two cycles run against a temporary SQLite database: the first prints the alerts,
    the second shows that nothing is sent twice.
    """
    from .demo import run_demo

    _setup_logging(ctx.meta["verbose"], quiet=False)
    run_demo(keep, echo=click.echo)


# --------------------------------------------------------------------------- helpers


def _duration(value: str, option: str) -> Any:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


def main() -> None:
    cli(prog_name="wirewatch")


__all__ = ["cli", "data_dir", "main"]
