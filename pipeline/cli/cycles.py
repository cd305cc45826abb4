"""Commands that run the pipeline or look after the database: run-once, worker, status,
prune, migrate, digest, demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..clock import utcnow
from ..display import plural, when
from ..errors import BusyError, ConfigError
from .common import Env, cutoff, echo_json, friendly_errors, setup_logging

if TYPE_CHECKING:
    from ..run import CycleSummary

ATTENTION_EXIT = 5


@click.command("run-once")
@click.option(
    "-q", "--quiet", is_flag=True,
    help="Print only problems (for cron mail); the console channel stays silent too.",
)  # fmt: skip
@click.pass_obj
@click.pass_context
@friendly_errors
def run_once(ctx: click.Context, env: Env, quiet: bool) -> None:
    """Run one full cycle over all configured feeds, deliver alerts, and exit (for cron).

    Prints one summary line: feeds ok/failed, new articles, matches and alerts, and one
    line per failing feed. Exits 0 when the cycle completed, even if some feeds failed.
    """
    from ..database import redact
    from ..listing import waiting_for_digest
    from ..locks import RunLock
    from ..progress import activity
    from ..run import run_cycle

    setup_logging(ctx.meta["verbose"], quiet)
    pipeline = env.pipeline()
    if quiet:
        pipeline.channels = silence_console(pipeline.channels)
    lock = RunLock(pipeline.store.engine)
    if not lock.acquire():
        pipeline.close()
        raise BusyError(
            f"another wirewatch run is in progress on {redact(str(pipeline.store.engine.url))}; "
            "this one exits without doing anything"
        )
    try:
        with activity("fetching, extracting, matching", enabled=not quiet):
            summary = run_cycle(pipeline)
        waiting = waiting_for_digest(pipeline.store)
    finally:
        lock.release()
        pipeline.close()
    print_summary(summary, waiting, quiet)


def silence_console(channels: Any) -> dict[str, Any]:
    """The channels with every console channel swapped for one that writes nothing."""
    import io

    from ..alert.console import ConsoleSink

    return {
        name: ConsoleSink(name, io.StringIO()) if isinstance(channel, ConsoleSink) else channel
        for name, channel in channels.items()
    }


def summary_line(summary: CycleSummary, waiting: int) -> str:
    delivery = summary.delivery
    failed = len(summary.feeds_failed)
    return (
        f"wirewatch: {plural(len(summary.feeds), 'feed')} ({summary.feeds_ok} ok, {failed} "
        f"failed), {plural(summary.new_articles, 'new article')}, "
        f"{plural(summary.duplicates, 'duplicate')}, {plural(summary.matches, 'match', 'matches')}"
        f", {plural(summary.alerts, 'new alert')} ({delivery.sent} sent, {delivery.retrying} "
        f"to retry, {delivery.dead} dead, {waiting} waiting for a digest)"
    )


def print_summary(summary: CycleSummary, waiting: int, quiet: bool) -> None:
    if not quiet:
        click.echo(summary_line(summary, waiting))
    for report in summary.feeds_failed:
        click.echo(f"  feed failed: {report.feed}: {report.outcome}: {report.error}")
    if summary.entry_errors:
        click.echo(f"  {summary.entry_errors} entries failed unexpectedly; see the log (-v)")


@click.command()
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
    from ..config import load_config
    from ..database import is_sqlite
    from ..locks import RunLock
    from ..worker import run_worker

    setup_logging(max(ctx.meta["verbose"], 1), quiet=False)
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


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option(
    "--check", is_flag=True,
    help=f"Exit {ATTENTION_EXIT} when something needs attention (dead alerts, a silent "
    "worker, a feed failing or disabled), naming each problem; for monitoring.",
)  # fmt: skip
@click.pass_obj
@friendly_errors
def status(env: Env, as_json: bool, check: bool) -> None:
    """Show what needs attention: feeds due, failing and disabled; articles and matches in
    the last 24 h; pending and dead alerts; worker heartbeats; feed problems."""
    from ..alert_times import with_time_to_alert
    from ..attention import needs_attention

    now = utcnow()
    figures = with_time_to_alert(env.read_store(), now)
    problems = needs_attention(figures, now) if check else []
    if as_json:
        echo_json({**figures, "problems": problems} if check else figures)
    else:
        print_status(figures)
        for problem in problems:
            click.echo(f"needs attention: {problem}")
    if problems:
        sys.exit(ATTENTION_EXIT)


def print_status(figures: dict[str, Any]) -> None:
    from ..alert_times import describe_time_to_alert

    alerts = figures["alerts"]
    click.echo(
        f"feeds: {figures['feeds']} ({figures['feeds_due']} due, {figures['feeds_failing']} "
        f"failing, {figures['feeds_disabled']} disabled)"
    )
    click.echo(
        f"last 24 h: {plural(figures['articles_24h'], 'article')}, "
        f"{plural(figures['matches_24h'], 'match', 'matches')}"
    )
    click.echo(
        f"alerts: {alerts['pending']} pending, {alerts['sending']} sending, "
        f"{alerts['sent']} sent, {alerts['dead']} dead"
    )
    for record in figures["workers"]:
        click.echo(worker_line(record))
    if not figures["workers"]:
        click.echo("no worker has run against this database")
    for problem in figures.get("feed_problems", ()):
        click.echo(f"feed {problem['feed']}: {problem['state']}: {problem['detail']}")
    for line in describe_time_to_alert(figures.get("time_to_alert", {})):
        click.echo(line)


def worker_line(record: dict[str, Any]) -> str:
    line = f"worker {record['worker']}: started {_iso_when(record['started'])}, "
    if record["stopped"]:
        return line + f"stopped {_iso_when(record['stopped'])}"
    line += f"last heartbeat {_iso_when(record['heartbeat'])}"
    if "heartbeat_age_seconds" in record:
        line += f" ({record['heartbeat_age_seconds']:.0f} s ago)"
    return line + (", STALE: presumed dead; its leases expire" if record.get("stale") else "")


def _iso_when(value: str) -> str:
    from datetime import datetime

    return when(datetime.fromisoformat(value))


@click.command()
@click.option(
    "--older-than", default="90d", show_default=True, help="Age of the articles to prune."
)
@click.pass_obj
@friendly_errors
def prune(env: Env, older_than: str) -> None:
    """Delete the text of articles older than this; matches, stories and alerts stay."""
    from ..progress import activity

    before = cutoff(older_than, "--older-than", utcnow())
    store = env.store()
    with activity("pruning"):
        count = store.prune(before)
    click.echo(f"pruned the text of {plural(count, 'article')} fetched before {when(before)}")


@click.command()
@click.pass_obj
@friendly_errors
def migrate(env: Env) -> None:
    """Create or upgrade the database schema (run-once and worker do this on SQLite)."""
    from ..database import database_url, open_database, redact
    from .dbcheck import check_url_form, check_writable

    url = database_url(env.db_url)
    check_url_form(url, explicit=env.db_url)
    check_writable(url)
    open_database(url, auto_migrate=True)
    click.echo(f"database {redact(url)} is up to date")


@click.command()
@click.option("--route", "route_name", metavar="NAME", help="Only this digest route.")
@click.option("--dry-run", is_flag=True, help="Show the digest instead of sending it.")
@click.pass_obj
@friendly_errors
def digest(env: Env, route_name: str | None, dry_run: bool) -> None:
    """Build and send the digests of the digest routes now (or show them with --dry-run).

    A running worker sends them on each route's schedule; this sends what is pending now.
    """
    from ..alert import build_channels, preview_digest, send_digest
    from ..alert.console import render_digest
    from ..database import data_dir, installation_id

    config = env.config
    routes = [r for r in config.alerts.routes if r.mode == "digest"]
    if route_name:
        routes = [r for r in routes if r.name == route_name]
        if not routes:
            raise ConfigError(f"no digest route named {route_name!r} in alerts.yaml")
    store = env.read_store() if dry_run else env.store()
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
        click.echo(
            f"{route.name}: {plural(report.sent, 'digest')} sent, {report.retrying} to retry"
        )
        for error in report.errors:
            click.echo(f"  failed: {error}")


@click.command()
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
    from ..demo import run_demo

    setup_logging(ctx.meta["verbose"], quiet=False)
    run_demo(keep, echo=click.echo)
