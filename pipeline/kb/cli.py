"""``wirewatch kb …``: load the screening lists, see what is stored, look a name up.

Registered on the main command group with one line at the end of ``pipeline/cli.py``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..cli.common import Env, friendly_errors
from ..clock import utcnow
from .formats import short_list_name

if TYPE_CHECKING:
    from .service import UpdateResult

FORCE_HELP = "Load even a file with under half the stored parties (the lists shrank)."


@click.group()
def kb() -> None:
    """The export-control knowledge base: the US Consolidated Screening List (Entity List,
    MEU and Unverified lists, Denied Persons, OFAC lists…). See docs/knowledge-base.md."""


@kb.command()
@click.option("--url", metavar="URL", help="Download from here [default: kb.url in settings].")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
@friendly_errors
def update(env: Env, url: str | None, force: bool, as_json: bool) -> None:
    """Download the list file and load it; changes become alerts (kb:<list>-added/-removed)."""
    from .service import download

    config = env.config
    source = url or config.settings.kb.url
    body = download(source, config.settings.kb, config.feeds.fetch)
    _load_and_report(env, body, source, force, as_json)


@kb.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
@friendly_errors
def import_(env: Env, file: Path, force: bool, as_json: bool) -> None:
    """Load a list file given by hand (CSL JSON or CSV), for machines without internet."""
    from .service import read_list_file

    _load_and_report(env, read_list_file(file), str(file), force, as_json)


def _load_and_report(env: Env, body: bytes, origin: str, force: bool, as_json: bool) -> None:
    from ..alert import build_channels, deliver
    from ..database import data_dir, installation_id
    from .service import load_list

    config, store = env.config, env.store()
    result = load_list(store, body, origin, config.alerts.routes, utcnow(), force=force)
    sent = 0
    if result.alerts:
        channels = build_channels(config.alerts, data_dir(), installation_id(store.engine))
        sent = deliver(
            store, channels, config.alerts.delivery, utcnow, rules=config.rules.rules
        ).sent
    if as_json:
        click.echo(json.dumps(_result_record(result, origin, sent)))
        return
    report = result.report
    click.echo(
        f"loaded {report.parties} parties from {origin}: {report.added} added, "
        f"{report.removed} removed"
        + (" (first load: no changes announced)" if result.baseline else "")
    )
    for change in result.changes:
        click.echo(f"{change.rule}: {len(change.parties)} ({change.title})")
    if result.alerts:
        click.echo(f"{result.alerts} alerts queued, {sent} sent")


def _result_record(result: UpdateResult, origin: str, sent: int) -> dict[str, Any]:
    return {
        "origin": origin,
        **asdict(result.report),
        "baseline": result.baseline,
        "changes": [
            {"rule": c.rule, "list": c.source, "parties": [p.name for p in c.parties]}
            for c in result.changes
        ],
        "alerts": result.alerts,
        "sent": sent,
    }


@kb.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
@friendly_errors
def status(env: Env, as_json: bool) -> None:
    """Parties per list, and when the lists were last loaded."""
    from .store import KbStore

    figures = KbStore(env.store()).status()
    loaded = figures.last_update.isoformat() if figures.last_update else None
    if as_json:
        record = {**asdict(figures), "last_update": loaded}
        click.echo(json.dumps(record))
        return
    if loaded is None:
        click.echo("the knowledge base is empty: run `wirewatch kb update` or `kb import FILE`")
        return
    click.echo(f"last loaded {loaded} from {figures.last_origin}")
    for source, count in figures.lists.items():
        click.echo(f"{count:>7}  {short_list_name(source)}")
    click.echo(f"{figures.removed:>7}  removed since first seen")


@kb.command()
@click.argument("name")
@click.option("--limit", default=20, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@friendly_errors
def search(env: Env, name: str, limit: int, as_json: bool) -> None:
    """Parties whose name or alternative names contain NAME (removed ones too)."""
    from .store import KbStore

    views = KbStore(env.store()).search(name, limit)
    for view in views:
        party = view.party
        if as_json:
            record = {
                **asdict(party),
                "list": party.list_name,
                "first_seen": view.first_seen_at.isoformat(),
                "last_seen": view.last_seen_at.isoformat(),
                "removed": view.removed_at.isoformat() if view.removed_at else None,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        removed = f" (removed {view.removed_at:%Y-%m-%d})" if view.removed_at else ""
        click.echo(f"{party.name} — {party.describe()}{removed}")
        if party.alt_names:
            click.echo(f"    also: {'; '.join(party.alt_names)}")
    if not views and not as_json:
        click.echo(f"no listed party matches {name!r}")
