"""Story updates, the planning shell: when a stored article joins a story that already
alerted, judge its facts against what each alert's receivers know (``novelty``, pure) and
queue an ``update`` alert where it brings something new."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from . import updates_store
from .config import RouteConfig
from .novelty import Novelty, novelty
from .store import Saved, Store

log = logging.getLogger(__name__)


def plan_updates(
    store: Store,
    routes: Sequence[RouteConfig],
    saved: Saved,
    now: datetime,
    window: timedelta,
) -> int:
    """Queue updates for the new article ``saved``; returns how many (rule, channel) pairs
    got one. Routes with ``updates: false`` (and routes no longer configured) get none."""
    if saved.duplicate_of is not None or saved.similar_to is None:
        return 0
    wanted = {route.name for route in routes if route.updates and route.mode == "instant"}
    originals = [
        original
        for original in updates_store.originals(store, saved.story_id, saved.article_id)
        if original.route in wanted
    ]
    if not originals:
        return 0
    (new_text,) = updates_store.article_texts(store, [saved.article_id])
    judged: dict[tuple[int, ...], Novelty] = {}
    queued = 0
    for original in originals:
        known = updates_store.known_articles(store, original)
        if saved.article_id in known:
            continue
        if known not in judged:
            judged[known] = novelty(updates_store.article_texts(store, known), new_text)
        found = judged[known]
        if not found.is_update:
            continue
        if updates_store.add_update(
            store, original, saved.article_id, found.sentences, now, window
        ):
            queued += 1
    if queued:
        log.info("story %d: article %d brings new facts", saved.story_id, saved.article_id)
    return queued
