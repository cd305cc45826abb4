"""Progress for long work, on a terminal only.

A bar (known total) or a spinner (unknown) drawn with rich on stderr, and only when
stderr is a terminal and the command is not ``--quiet``: piped, redirected or cron output
never carries progress. rich is imported only when something is drawn.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def shown(enabled: bool = True) -> bool:
    """Whether progress is drawn: asked for, and stderr is a terminal."""
    return enabled and sys.stderr.isatty()


def track(
    items: Iterable[T], label: str, *, total: int | None = None, enabled: bool = True
) -> Iterator[T]:
    """``items`` unchanged, with a bar (or a count, without ``total``) while they pass."""
    if not shown(enabled):
        yield from items
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    columns += [BarColumn(), MofNCompleteColumn()] if total else [TextColumn("{task.completed}")]
    with Progress(
        *columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True
    ) as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)


@contextmanager
def activity(label: str, *, enabled: bool = True) -> Iterator[None]:
    """A spinner with the elapsed time while the block runs (one long call)."""
    if not shown(enabled):
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(label):
        yield
