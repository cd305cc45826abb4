"""The command line: each command parses its options, calls the library, and turns a
``WirewatchError`` into one line on stderr and an exit code.

Exit codes: 0 done; 1 unexpected error or bad input; 2 invalid config or usage;
3 database unreachable, missing or not migrated; 4 another run holds the lock;
5 ``status --check`` found something that needs attention; 130 interrupted (Ctrl-C).

Commands live in modules by group (``cycles``, ``reading``, ``feeds``, ``alerts``,
``rules``, ``web``; ``kb`` in ``pipeline.kb.cli``); heavy libraries are imported inside
the commands that use them.
"""

from __future__ import annotations

import click

from .. import __version__
from .alerts import alerts
from .common import Env, interrupted
from .cycles import demo, digest, migrate, prune, run_once, status, worker
from .feeds import feeds
from .reading import matches, stories
from .rules import replay, rules
from .web import tokens, users, web


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
    help="Database URL, e.g. postgresql://user@host/db or sqlite:////abs/path.db [default: "
    "SQLite file wirewatch.db in the data directory; env DATABASE_URL].",
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


for _command in (run_once, worker, status, prune, migrate, matches, feeds, stories, alerts):
    cli.add_command(_command)
for _command in (digest, rules, replay, demo, web, users, tokens):
    cli.add_command(_command)


def _add_kb() -> None:
    from ..kb.cli import kb

    cli.add_command(kb)


_add_kb()


def data_dir():  # type: ignore[no-untyped-def]
    """Kept for callers that imported it from here; lives in ``pipeline.database``."""
    from ..database import data_dir as find

    return find()


def main() -> None:
    try:
        cli.main(prog_name="wirewatch", standalone_mode=False)
    except click.exceptions.Abort:
        interrupted()
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "wirewatch"
        click.echo(f"{command}: error: {exc.format_message()} (see {command} --help)", err=True)
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        interrupted()
    except BrokenPipeError:
        _quiet_broken_pipe()


def _quiet_broken_pipe() -> None:
    """``wirewatch matches | head``: the reader left; say nothing, as click does."""
    import os
    import sys

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(1)


__all__ = ["Env", "cli", "data_dir", "main"]
