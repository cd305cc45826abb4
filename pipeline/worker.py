"""The long-running worker: APScheduler 3 polls each feed on its own interval.

A poll job runs every second and claims the feeds whose next check is due (interval,
backoff and Retry-After are all in ``next_check_at``) with a lease held until their
entries are stored, so that no feed is fetched twice at once, by this worker or another;
at most ``POLL_JOBS`` polls run at once, and a tick that finds them all busy passes
quietly. A further job delivers due alerts and digest retries, and sends a digest whose
tick the scheduler missed, so retries go out even when no feed has news. The first
SIGINT/SIGTERM stops the scheduler and lets running jobs finish their current feed or
send; a second one exits at once (leases then expire and other workers take over).
Each digest route is a cron job in its own time zone. SIGHUP reloads the config (feeds,
rules, entities, alerts); a config that does not load or compile is refused with one log
line and the worker goes on with the last valid one. A change to a config file's
modification time (the web desk saving rules.yaml, say) reloads it the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from . import metrics
from .alert import (
    claim_owner,
    deliver,
    last_fire_time,
    send_digest,
    send_missed_digests,
    worker_id,
)
from .alert_times import with_time_to_alert
from .concurrency import renewing
from .config import Config, config_stamp
from .errors import WirewatchError
from .run import Pipeline, run_cycle

log = logging.getLogger(__name__)

DELIVERY_INTERVAL = timedelta(seconds=30)
POLL_JOBS = 4
"""Polls that may run at once: slow feeds (a feed may trickle for the whole fetch timeout)
do not hold up feeds that come due later. Requests stay within ``fetch.concurrency``
across all of them (``Pipeline.fetch_slots``)."""
SCHEDULER_THREADS = POLL_JOBS + 6
"""Enough for the polls, delivery, heartbeat and the digest jobs all at once."""
HEARTBEAT = timedelta(seconds=15)
WORKER = worker_id()
MISFIRE_GRACE = 60


def run_worker(
    pipeline: Pipeline,
    stop: threading.Event | None = None,
    load: Callable[[], Config] | None = None,
    metrics_port: int | None = None,
) -> None:
    """Run until ``stop`` is set or SIGINT/SIGTERM arrives; SIGHUP calls ``load`` to reload."""
    stop = stop or threading.Event()
    reload_requested = threading.Event()
    started = pipeline.clock()
    poll_slots = threading.BoundedSemaphore(POLL_JOBS)
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=SCHEDULER_THREADS)},
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE},
        timezone="UTC",
    )
    _schedule_feeds(scheduler, pipeline, poll_slots)
    _schedule_digests(scheduler, pipeline)
    scheduler.add_job(
        _heartbeat,
        IntervalTrigger(seconds=HEARTBEAT.total_seconds()),
        args=(pipeline,),
        id="heartbeat",
        name="heartbeat",
    )
    scheduler.add_job(
        _deliver,
        IntervalTrigger(seconds=DELIVERY_INTERVAL.total_seconds()),
        args=(pipeline, started),
        id="deliver",
        name="deliver alerts",
    )
    _install_signal_handlers(stop, reload_requested)
    scheduler.start()
    log.info("worker started: %d feeds", len(pipeline.config.feeds.feeds))
    pipeline.store.register_worker(WORKER, pipeline.clock())
    metrics.record_poll()
    server = None
    if metrics_port is not None:
        server = metrics.serve(
            metrics_port, lambda: with_time_to_alert(pipeline.store, pipeline.clock())
        )
        log.info("metrics on http://127.0.0.1:%d/metrics and /healthz", metrics_port)
    # The stamp taken before the config was read: a file saved since (even while the
    # worker was starting) is a change to reload.
    stamp = pipeline.config.stamp or config_stamp(pipeline.config.directory)
    try:
        while not stop.wait(0.5):
            latest = config_stamp(pipeline.config.directory)
            if reload_requested.is_set() or latest != stamp:
                reload_requested.clear()
                stamp = latest
                _reload(scheduler, pipeline, load, poll_slots)
    finally:
        log.info("worker stopping: ending the current cycle")
        pipeline.stop.set()
        pipeline.fetcher.close()  # requests in flight end now, not at their timeout
        scheduler.shutdown(wait=True)
        pipeline.store.unregister_worker(WORKER, pipeline.clock())
        if server is not None:
            server.shutdown()
        log.info("worker stopped")


def _schedule_feeds(
    scheduler: BaseScheduler, pipeline: Pipeline, poll_slots: threading.BoundedSemaphore
) -> None:
    """Record the configured feeds; the poll job picks the ones that are due. The job may
    start more instances than ``POLL_JOBS``: the extra ones find no free slot and return
    at once, instead of APScheduler logging a skipped run every second."""
    pipeline.store.sync_feeds(pipeline.config.feeds.feeds, pipeline.clock())
    if scheduler.get_job("poll") is None:
        scheduler.add_job(
            _poll_if_a_slot_is_free,
            IntervalTrigger(seconds=pipeline.config.settings.worker.poll_interval.total_seconds()),
            args=(pipeline, poll_slots),
            id="poll",
            name="poll due feeds",
            next_run_time=datetime.now(UTC),
            max_instances=SCHEDULER_THREADS,
        )


def _schedule_digests(scheduler: BaseScheduler, pipeline: Pipeline) -> None:
    """One cron job per digest route, in the route's time zone."""
    for job in scheduler.get_jobs():
        if job.id.startswith("digest:"):
            job.remove()
    for route in pipeline.config.alerts.routes:
        if route.mode == "digest":
            scheduler.add_job(
                _send_digest,
                route.trigger(),
                args=(pipeline, route.name),
                id=f"digest:{route.name}",
                name=f"digest {route.name}",
            )


def _send_digest(pipeline: Pipeline, route_name: str) -> None:
    route = next((r for r in pipeline.config.alerts.routes if r.name == route_name), None)
    if route is None:
        return
    now = pipeline.clock()
    try:
        report = send_digest(
            pipeline.store, pipeline.channels, route, last_fire_time(route, now),
            pipeline.config.alerts.delivery, pipeline.clock,
        )  # fmt: skip
    except WirewatchError as exc:
        log.error("digest %s failed: %s", route_name, exc)
        return
    log.info("digest %s: %d sent, %d to retry", route_name, report.sent, report.retrying)


def _reload(
    scheduler: BaseScheduler,
    pipeline: Pipeline,
    load: Callable[[], Config] | None,
    poll_slots: threading.BoundedSemaphore,
) -> None:
    if load is None:
        log.warning("SIGHUP: this worker has no config to reload")
        return
    try:
        pipeline.reconfigure(load())
    except WirewatchError as exc:
        log.error("config reload failed, keeping the last valid config: %s", exc)
        return
    _schedule_feeds(scheduler, pipeline, poll_slots)
    _schedule_digests(scheduler, pipeline)
    log.info(
        "config reloaded: %d feeds, %d rules",
        len(pipeline.config.feeds.feeds),
        len(pipeline.config.rules.rules),
    )


def _poll_if_a_slot_is_free(pipeline: Pipeline, poll_slots: threading.BoundedSemaphore) -> None:
    if pipeline.stop.is_set() or not poll_slots.acquire(blocking=False):
        return
    try:
        _poll_due_feeds(pipeline)
    finally:
        poll_slots.release()


def _poll_due_feeds(pipeline: Pipeline) -> None:
    """Claim the feeds that are due (a lease: no other poll, here or in another worker,
    fetches them meanwhile), run one cycle over them, renewing the leases until their
    entries are stored."""
    configured = [feed.url for feed in pipeline.config.feeds.feeds]
    lease = pipeline.config.settings.worker.feed_lease
    owner = claim_owner("poll")
    metrics.record_poll()
    try:
        feeds = pipeline.store.claim_feeds(
            owner, pipeline.clock(), lease, pipeline.config.feeds.fetch.concurrency,
            urls=configured,
        )  # fmt: skip
        if not feeds:
            return
        ids = [feed.id for feed in feeds]

        def renew() -> None:
            held = pipeline.store.renew_feed_leases(ids, owner, pipeline.clock() + lease)
            if len(held) < len(ids):
                log.warning("lost the lease on %d feeds; another worker took them over",
                            len(ids) - len(held))  # fmt: skip

        with renewing(renew, lease.total_seconds() / 3, "feed lease renewal"):
            summary = run_cycle(pipeline, feeds=feeds, owner=owner)
    except WirewatchError as exc:
        log.error("poll failed: %s", exc)
        return
    log.info(
        "polled %d feeds: %d new articles, %d matches, %d alerts",
        len(feeds), summary.new_articles, summary.matches, summary.alerts,
    )  # fmt: skip


def _heartbeat(pipeline: Pipeline) -> None:
    try:
        pipeline.store.register_worker(WORKER, pipeline.clock())
    except WirewatchError as exc:
        log.error("heartbeat failed: %s", exc)


def _deliver(pipeline: Pipeline, started: datetime) -> None:
    """Due alerts and digest retries, then any digest whose tick the scheduler missed
    (its threads were busy, or the worker was down at the time)."""
    settings = pipeline.config.alerts.delivery
    try:
        deliver(
            pipeline.store, pipeline.channels, settings, pipeline.clock,
            stop=pipeline.stop, rules=pipeline.config.rules.rules,
        )  # fmt: skip
        if not pipeline.stop.is_set():
            send_missed_digests(
                pipeline.store, pipeline.channels, pipeline.config.alerts.routes, settings,
                pipeline.clock, started,
            )  # fmt: skip
    except WirewatchError as exc:
        log.error("delivery failed: %s", exc)


def _install_signal_handlers(stop: threading.Event, reload_requested: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if signum != signal.SIGHUP and stop.is_set():
            log.warning("received %s again: stopping now; leases held expire", name)
            os._exit(128 + signum)
        log.info("received %s", name)
        (reload_requested if signum == signal.SIGHUP else stop).set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handle)
