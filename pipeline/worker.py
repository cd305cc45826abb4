"""The long-running worker: APScheduler 3 polls each feed on its own interval.

Each feed is one job (``max_instances=1``: a slow feed never runs twice at once;
``coalesce``: missed runs collapse into one). A further job delivers due alerts, so
retries go out even when no feed has news. SIGINT/SIGTERM stop the scheduler and wait
for running jobs to finish their current feed.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .alert import deliver
from .errors import WirewatchError
from .run import Pipeline, run_cycle
from .store import FeedState

log = logging.getLogger(__name__)

DELIVERY_INTERVAL = timedelta(seconds=30)
MISFIRE_GRACE = 60


def run_worker(pipeline: Pipeline, stop: threading.Event | None = None) -> None:
    """Run until ``stop`` is set or SIGINT/SIGTERM arrives."""
    stop = stop or threading.Event()
    feeds = pipeline.store.sync_feeds(pipeline.config.feeds.feeds, pipeline.clock())
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE},
        timezone="UTC",
    )
    now = pipeline.clock()
    for feed in feeds:
        if not feed.enabled:
            continue
        scheduler.add_job(
            _poll_feed,
            IntervalTrigger(seconds=feed.interval.total_seconds()),
            args=(pipeline, feed.id),
            id=f"feed:{feed.id}",
            name=f"poll {feed.label}",
            next_run_time=now,
        )
    scheduler.add_job(
        _deliver,
        IntervalTrigger(seconds=DELIVERY_INTERVAL.total_seconds()),
        args=(pipeline,),
        id="deliver",
        name="deliver alerts",
    )
    _install_signal_handlers(stop)
    scheduler.start()
    log.info("worker started: %d feeds scheduled", len(scheduler.get_jobs()) - 1)
    try:
        stop.wait()
    finally:
        log.info("worker stopping: waiting for running jobs")
        scheduler.shutdown(wait=True)
        log.info("worker stopped")


def _poll_feed(pipeline: Pipeline, feed_id: int) -> None:
    feed = _current_state(pipeline, feed_id)
    if feed is None or not feed.enabled:
        return
    try:
        summary = run_cycle(pipeline, feeds=[feed])
    except WirewatchError as exc:
        log.error("cycle for %s failed: %s", feed.label, exc)
        return
    if summary.new_articles or summary.alerts:
        log.info(
            "feed %s: %d new articles, %d matches, %d alerts",
            feed.label,
            summary.new_articles,
            summary.matches,
            summary.alerts,
        )


def _current_state(pipeline: Pipeline, feed_id: int) -> FeedState | None:
    return next((f for f in pipeline.store.feed_states() if f.id == feed_id), None)


def _deliver(pipeline: Pipeline) -> None:
    try:
        deliver(pipeline.store, pipeline.channels, pipeline.config.alerts.delivery, pipeline.clock)
    except WirewatchError as exc:
        log.error("delivery failed: %s", exc)


def _install_signal_handlers(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
