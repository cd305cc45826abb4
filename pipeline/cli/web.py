"""Commands of the web desk: ``web`` serves it, ``users add`` and ``tokens create`` say
who may use it. Registered on the main group in ``pipeline.cli``."""

from __future__ import annotations

import sys

import click

from ..clock import utcnow
from ..errors import ConfigError
from .common import Env, friendly_errors

ROLE_CHOICE = click.Choice(["admin", "analyst", "viewer"])


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
@click.pass_obj
@friendly_errors
def web(env: Env, host: str, port: int) -> None:
    """Serve the analyst's desk: matches, stories, sources, the outbox and the rule
    workbench, at http://HOST:PORT/ (loopback by default; see docs/web.md).

    Sign-in needs a user (`wirewatch users add`). The session secret is kept in the data
    directory (file web-session-secret, created on first start) unless
    WIREWATCH_SESSION_SECRET is set.
    """
    import uvicorn

    from ..config import resolve_config_dir
    from ..database import data_dir
    from ..web.app import create_app
    from ..web.auth import session_secret

    app = create_app(env.store(), resolve_config_dir(env.config_dir), session_secret(data_dir()))
    click.echo(f"wirewatch desk on http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True)


@click.group()
def users() -> None:
    """Manage the people who may sign in to the web desk."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, default="viewer", show_default=True,
              help="admin: everything; analyst: rules, labels, retries; viewer: read.")  # fmt: skip
@click.pass_obj
@friendly_errors
def users_add(env: Env, name: str, role: str) -> None:
    """Add user NAME (or reset their password and role); the password is read from
    standard input (first line), so it never appears in the shell history."""
    from ..web.accounts import add_user

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ConfigError("no password on standard input (e.g. `echo 'secret' | wirewatch ...`)")
    add_user(env.store(), name, role, password, utcnow())
    click.echo(f"user {name} ({role}) saved")


@click.group()
def tokens() -> None:
    """Manage API tokens for scripts (sent as `Authorization: Bearer TOKEN`)."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, default="viewer", show_default=True,
              help="What the token may do (as for users).")  # fmt: skip
@click.pass_obj
@friendly_errors
def tokens_create(env: Env, name: str, role: str) -> None:
    """Create a token called NAME and print it once; only its hash is stored."""
    from ..web.accounts import create_token

    click.echo(create_token(env.store(), name, role, utcnow()))
