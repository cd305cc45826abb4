"""Running I/O-bound work on a few threads, stoppably.

``run_all`` is ``ThreadPoolExecutor.map`` with two differences that matter for a worker
asked to stop: it returns as soon as ``stop`` is set (work not started is skipped), and
its threads are daemons, so a request still waiting on a slow server does not keep the
process alive after everything that matters has been saved. ``renewing`` keeps leases
alive on a daemon thread while a block of slow work runs.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def run_all(
    function: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    stop: threading.Event,
    *,
    finish_started: bool = False,
) -> list[R | None]:
    """``function`` over ``items`` on up to ``workers`` threads; results in input order,
    ``None`` for the items not finished when ``stop`` was set. With ``finish_started``,
    a stop waits for the items already started to end (they see ``stop`` themselves)
    instead of leaving them running."""
    results: list[R | None] = [None] * len(items)
    if not items:
        return results
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        pending.put(index)
    remaining = threading.Semaphore(0)
    failure: list[BaseException] = []

    def work() -> None:
        while not stop.is_set():
            try:
                index = pending.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = function(items[index])
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)
            finally:
                remaining.release()

    threads = [
        threading.Thread(target=work, daemon=True, name="wirewatch-io")
        for _ in range(min(workers, len(items)))
    ]
    for thread in threads:
        thread.start()
    for _ in items:
        while not remaining.acquire(timeout=0.2):
            if stop.is_set():
                if finish_started:
                    for thread in threads:
                        thread.join()
                    if failure:
                        raise failure[0]
                return results
        if failure:
            raise failure[0]
    return results


@contextmanager
def renewing(
    renew: Callable[[], object], every: float, name: str = "lease-renewal"
) -> Iterator[None]:
    """Call ``renew`` every ``every`` seconds on a daemon thread while the block runs
    (keeping leases alive during work slower than the lease). A failing renewal is
    logged; the next one tries again."""
    done = threading.Event()

    def loop() -> None:
        while not done.wait(every):
            try:
                renew()
            except Exception as exc:  # a database hiccup must not end the renewals
                log.error("%s failed: %s", name, exc)

    thread = threading.Thread(target=loop, daemon=True, name=name)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=5)
