"""A ``Pipeline``: everything a cycle needs (config, store, fetcher, matcher, channels,
extraction pool, clock), built from a config and a store, and rebuilt on a new config.

Tests hand in local servers, a temporary database and a fixed clock; ``run.py`` only
uses what it is given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .alert import Channel, build_channels
from .clock import utcnow
from .config import Config
from .database import data_dir, installation_id
from .extract import ExtractorPool
from .fetch import Fetcher
from .kb.service import load_knowledge
from .match import Annotator, Matcher, RuleSet
from .store import Store


@dataclass
class Pipeline:
    config: Config
    store: Store
    fetcher: Fetcher
    matcher: Matcher
    channels: Mapping[str, Channel]
    extractor: ExtractorPool
    clock: Callable[[], datetime] = utcnow
    stop: threading.Event = field(default_factory=threading.Event)
    """Set to end the current cycle early: what was not finished is left for the next."""
    fetch_slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(8)
    )
    """Feed and page requests in flight across every cycle running on this pipeline
    (``fetch.concurrency``): the global limit, however many polls run at once."""

    @classmethod
    def build(
        cls,
        config: Config,
        store: Store,
        *,
        fetcher: Fetcher | None = None,
        clock: Callable[[], datetime] = utcnow,
        base_dir: Path | None = None,
    ) -> Pipeline:
        return cls(
            config=config,
            store=store,
            fetcher=fetcher or Fetcher(config.feeds.fetch),
            matcher=compile_rules(config, load_knowledge(store, config)),
            channels=build_channels(
                config.alerts, base_dir or data_dir(), installation_id(store.engine)
            ),
            clock=clock,
            extractor=_extractor(config),
            fetch_slots=threading.BoundedSemaphore(config.feeds.fetch.concurrency),
        )

    def close(self) -> None:
        self.fetcher.close()
        self.extractor.close()

    def reconfigure(self, config: Config, base_dir: Path | None = None) -> None:
        """Switch to a new config. Everything is built before anything is replaced, so a
        config that fails to compile leaves the running one untouched."""
        matcher = compile_rules(config, load_knowledge(self.store, config))
        installation = installation_id(self.store.engine)
        channels = build_channels(config.alerts, base_dir or data_dir(), installation)
        if config.feeds.fetch != self.config.feeds.fetch:
            self.fetcher = Fetcher(config.feeds.fetch)
            self.fetch_slots = threading.BoundedSemaphore(config.feeds.fetch.concurrency)
        self.config, self.matcher, self.channels = config, matcher, channels


def _extractor(config: Config) -> ExtractorPool:
    settings = config.feeds.fetch
    return ExtractorPool(
        settings.extract_workers, settings.extract_timeout, settings.extract_memory_mb
    )


def compile_rules(config: Config, annotator: Annotator | None = None) -> RuleSet:
    origin = str(config.directory / "rules.yaml")
    return RuleSet.from_config(config.rules.rules, origin, config.entities.entities, annotator)
