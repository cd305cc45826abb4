"""What each config file may hold: the pydantic models every file is validated against,
and ``Config``, all of them loaded from one directory (``loading.py`` reads them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """``90``, ``"90s"``, ``"15m"``, ``"24h"``, ``"7d"`` -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 15m, 2h or 7d")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration such as 90s, 15m, 2h or 7d")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

FEED_DISABLED_RULE = "ops:feed-disabled"
"""The built-in rule an alert carries when a feed is disabled; routes select it by name."""
BUILTIN_RULES = frozenset({FEED_DISABLED_RULE})


def _require_unique(values: list[str], what: str) -> None:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(repeated)}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchSettings(_Strict):
    """Limits and manners of the fetcher (``fetch:`` in feeds.yaml)."""

    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(20.0, gt=0)
    total_timeout: float = Field(60.0, gt=0)
    max_bytes: int = Field(15 * 1024 * 1024, gt=0)
    max_html_bytes: int = Field(3 * 1024 * 1024, gt=0)
    concurrency: int = Field(8, ge=1, le=64)
    user_agent: str | None = None
    fetch_pages: bool = True
    """Fetch each new entry's page and extract it; off = use the feed's own text only."""
    max_redirects: int = Field(5, ge=0, le=20)
    per_host_concurrency: int = Field(2, ge=1, le=32)
    per_host_delay: float = Field(0.5, ge=0)
    """Seconds between the starts of two requests to the same host."""
    allow_private_networks: bool = False
    """Allow requests to loopback, private and link-local addresses (intranet feeds)."""
    allow_hosts: list[str] = []
    """``host:port`` pairs exempt from the address guard, e.g. one intranet feed server
    (``[::1]:8080`` for IPv6). An entry without a port is refused, not silently ignored."""
    extract_timeout: float = Field(20.0, gt=0)
    """Hard limit for extracting one page; a stuck extraction is killed."""
    extract_workers: int = Field(2, ge=1, le=32)
    extract_memory_mb: int = Field(1024, ge=128)

    @field_validator("allow_hosts")
    @classmethod
    def _host_and_port(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            host, colon, port = entry.rpartition(":")
            bare_ipv6 = ":" in host and not host.startswith("[")
            if not colon or not port.isdigit() or not host or bare_ipv6:
                raise ValueError(
                    f"{entry!r} needs a port: write host:port, e.g. 'feeds.intranet:443' "
                    "or '[fd00::1]:8080'; an entry exempts that one port"
                )
        return [entry.lower() for entry in entries]


def http_url(url: str) -> str:
    """An absolute http(s) URL with a host, else ``ValueError`` naming it."""
    url = url.strip()
    if not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    return url


class FeedConfig(_Strict):
    url: str
    name: str | None = None
    interval: Duration = timedelta(minutes=15)
    adaptive: bool = False
    """Poll more often (down to a quarter of the interval) while the feed is active."""
    user_agent: str | None = None
    """Overrides ``fetch.user_agent`` for this feed (some sites refuse bot-like agents)."""
    type: Literal["rss", "federal_register"] = "rss"
    """``rss`` (RSS/Atom) or ``federal_register`` (the Federal Register API's JSON)."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return http_url(url)

    @field_validator("interval")
    @classmethod
    def _sane_interval(cls, interval: timedelta) -> timedelta:
        if interval < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return interval

    @property
    def label(self) -> str:
        return self.name or self.url


class FeedsFile(_Strict):
    fetch: FetchSettings = FetchSettings()
    feeds: list[FeedConfig] = []

    @field_validator("feeds")
    @classmethod
    def _unique_urls(cls, feeds: list[FeedConfig]) -> list[FeedConfig]:
        _require_unique([feed.url for feed in feeds], "feed URLs")
        return feeds


class RuleConfig(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    query: str
    description: str = ""
    min_score: float = 0.0
    tags: list[str] = []


class RulesFile(_Strict):
    rules: list[RuleConfig] = []

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[RuleConfig]) -> list[RuleConfig]:
        _require_unique([rule.name for rule in rules], "rule names")
        return rules


class EntityConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    type: Literal["company", "product", "agency", "regulation", "list", "country", "other"]
    aliases: list[str] = Field(min_length=1)
    """Each alias is read as a phrase; an all-capitals alias (NVDA) is case-sensitive."""


class EntitiesFile(_Strict):
    entities: list[EntityConfig] = []

    @field_validator("entities")
    @classmethod
    def _unique_ids(cls, entities: list[EntityConfig]) -> list[EntityConfig]:
        _require_unique([entity.id for entity in entities], "entity ids")
        return entities


class ConsoleChannel(_Strict):
    type: Literal["console"]


class FileChannel(_Strict):
    type: Literal["file"]
    path: str = "alerts.jsonl"
    """JSON Lines file; a relative path is resolved against the data directory."""


class SlackChannel(_Strict):
    """Slack through an incoming webhook (``webhook_url``) or a bot token + channel."""

    type: Literal["slack"]
    webhook_url: str | None = None
    token: str | None = None
    channel: str | None = None
    base_url: str = "https://slack.com/api/"
    timeout: float = Field(10.0, gt=0)

    @field_validator("webhook_url", "base_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        return http_url(url) if url else url

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackChannel:
        if bool(self.webhook_url) == bool(self.token):
            raise ValueError("set either webhook_url or token (with channel), not both")
        if self.token and not self.channel:
            raise ValueError("a bot token needs a channel, e.g. channel: '#export-controls'")
        return self


class EmailChannel(_Strict):
    type: Literal["email"]
    host: str
    port: int | None = None
    """Default: 465 for ``security: tls``, 587 for ``starttls``, 25 for ``none``."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    timeout: float = Field(20.0, gt=0)
    subject_prefix: str = "[wirewatch]"
    list_unsubscribe: str | None = None
    ca_file: str | None = None
    """Extra CA bundle to trust (a private mail relay); the system CAs are always used."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WebhookChannel(_Strict):
    """JSON POST of each alert; signed with HMAC-SHA256 when ``secret`` is set."""

    type: Literal["webhook"]
    url: str
    secret: str | None = None
    timeout: float = Field(10.0, gt=0)
    headers: dict[str, str] = {}

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return http_url(url)


ChannelConfig = Annotated[
    ConsoleChannel | FileChannel | SlackChannel | EmailChannel | WebhookChannel,
    Field(discriminator="type"),
]


class RouteConfig(_Strict):
    name: str
    rules: list[str] = []
    """Rule names (built-in ones such as ``ops:feed-disabled`` included), or ``*`` for
    every rule."""
    tags: list[str] = []
    """A rule carrying any of these tags is routed too. A route takes the rules it names
    and the rules carrying one of its tags, nothing else; it must give one or the other."""
    channels: list[str] = Field(min_length=1)
    mode: Literal["instant", "digest"] = "instant"
    schedule: str | None = None
    """Digest schedule, crontab syntax: ``0 8 * * 1-5`` is 08:00 on weekdays."""
    timezone: str = "UTC"
    min_score: float = 0.0
    updates: bool = True
    """Send ``update`` alerts when a story that alerted brings new facts (instant routes)."""

    @model_validator(mode="after")
    def _digest_schedule(self) -> RouteConfig:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if self.mode == "digest":
            if not self.schedule:
                raise ValueError("a digest route needs a schedule, e.g. schedule: '0 8 * * *'")
            try:
                CronTrigger.from_crontab(self.schedule, timezone=zone)
            except ValueError as exc:
                raise ValueError(
                    f"schedule {self.schedule!r} is not valid crontab: {exc}"
                ) from None
        return self

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(
            self.schedule or "0 8 * * *", timezone=ZoneInfo(self.timezone)
        )

    def accepts(self, rule: str, tags: tuple[str, ...], score: float) -> bool:
        if score < self.min_score:
            return False
        return "*" in self.rules or rule in self.rules or not set(tags).isdisjoint(self.tags)


class DeliverySettings(_Strict):
    max_attempts: int = Field(8, ge=1)
    retry_base: Duration = timedelta(seconds=30)
    retry_max: Duration = timedelta(hours=1)
    lease: Duration = timedelta(minutes=2)
    """How long a deliverer may hold an alert it is sending before another may take it."""


class AlertsFile(_Strict):
    channels: dict[str, ChannelConfig] = {}
    routes: list[RouteConfig] = []
    delivery: DeliverySettings = DeliverySettings()


class DedupeSettings(_Strict):
    story_window: Duration = timedelta(days=7)
    """How far back a new article looks for near-duplicates whose story it joins."""


class WorkerSettings(_Strict):
    feed_lease: Duration = timedelta(minutes=5)
    """How long a worker holds the feeds it fetches; renewed while it works, so another
    worker takes them over this long after a worker dies."""
    poll_interval: Duration = timedelta(seconds=1)


class KbSettings(_Strict):
    """Where ``wirewatch kb update`` downloads the Consolidated Screening List from."""

    url: str = (
        "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.json"
    )
    max_bytes: int = Field(200 * 1024 * 1024, gt=0)
    timeout: float = Field(300.0, gt=0)
    """Seconds for the whole download."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return FeedConfig._http_url(url)


class UpdateSettings(_Strict):
    window: Duration = timedelta(minutes=30)
    """After an update, later new facts of the story wait this long and go out as one."""


class SettingsFile(_Strict):
    """``settings.yaml`` (optional): behaviour that is not about feeds, rules or alerts."""

    dedupe: DedupeSettings = DedupeSettings()
    worker: WorkerSettings = WorkerSettings()
    kb: KbSettings = KbSettings()
    updates: UpdateSettings = UpdateSettings()


@dataclass(frozen=True)
class Config:
    directory: Path
    feeds: FeedsFile
    rules: RulesFile
    alerts: AlertsFile
    entities: EntitiesFile = field(default_factory=EntitiesFile)
    settings: SettingsFile = field(default_factory=SettingsFile)
    stamp: tuple[int, ...] = ()
    """The config files' modification times taken just before they were read
    (``loading.config_stamp``): a file saved after that is a change to reload."""
