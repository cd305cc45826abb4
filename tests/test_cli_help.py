"""Every command has a useful --help, and the README documents every command."""

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.conftest import ROOT


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("path", commands(cli), ids=" ".join)
def test_every_command_has_help_and_is_documented(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    command = cli
    for name in path:
        command = command.commands[name]
    assert command.help and len(command.help.split()) >= 3
    assert f"wirewatch {' '.join(path)}" in (ROOT / "README.md").read_text()


def test_top_level_help_lists_commands() -> None:
    output = CliRunner().invoke(cli, ["--help"]).output
    for name in ("run-once", "worker", "migrate", "matches", "feeds", "replay", "demo"):
        assert name in output
