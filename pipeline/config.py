"""Loading and validating the YAML config at the edge.

A config directory holds ``feeds.yaml``, ``rules.yaml`` and ``alerts.yaml``. Every file is
validated with pydantic when it is loaded; any problem becomes one ``ConfigError`` line that
names the file, the key and what is wrong. Nothing else in wirewatch reads files or the
environment for settings: the loaded ``Config`` is passed in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError

M = TypeVar("M", bound=BaseModel)

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


def default_config_dir() -> Path:
    """``./config`` when it holds a feeds.yaml, else the defaults shipped with wirewatch."""
    local = Path.cwd() / "config"
    if (local / "feeds.yaml").is_file():
        return local
    packaged = Path(__file__).parent / "default_config"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "config"


def resolve_config_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    chosen = explicit or os.environ.get("WIREWATCH_CONFIG")
    return Path(chosen) if chosen else default_config_dir()


def load_config(directory: str | os.PathLike[str] | None = None) -> Config:
    path = resolve_config_dir(directory)
    if not path.is_dir():
        raise ConfigError(f"{path}: config directory not found")
    feeds = _load_file(path / "feeds.yaml", FeedsFile)
    rules = _load_file(path / "rules.yaml", RulesFile)
    alerts = _load_file(path / "alerts.yaml", AlertsFile)
    entities = load_entities(path)
    settings = load_settings(path)
    _check_routes(path / "alerts.yaml", alerts, rules)
    return Config(path, feeds, rules, alerts, entities, settings)


def load_rules_file(path: str | os.PathLike[str]) -> RulesFile:
    return _load_file(Path(path), RulesFile)


def load_settings(directory: Path) -> SettingsFile:
    """``settings.yaml`` of a config directory; optional (no file: defaults)."""
    path = directory / "settings.yaml"
    return _load_file(path, SettingsFile) if path.exists() else SettingsFile()


def load_entities(directory: Path) -> EntitiesFile:
    """``entities.yaml`` of a config directory; optional (no file: no entities)."""
    path = directory / "entities.yaml"
    return _load_file(path, EntitiesFile) if path.exists() else EntitiesFile()


def _load_file(path: Path, model: type[M]) -> M:
    data = read_yaml(path)
    if isinstance(data, list) and model is FeedsFile:
        data = {"feeds": data}  # a bare list of feeds is accepted too
    if model is AlertsFile and isinstance(data, dict):
        data = {**data, "channels": _expand_env(path, data.get("channels"), "channels")}
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(path, exc, data)) from None


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from None


_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(path: Path, node: Any, where: str) -> Any:
    """Replace ``${NAME}`` with the environment variable NAME; secrets never live in files."""
    if isinstance(node, dict):
        return {key: _expand_env(path, value, f"{where}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [_expand_env(path, value, f"{where}[{i}]") for i, value in enumerate(node)]
    if not isinstance(node, str):
        return node

    def lookup(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in os.environ:
            raise ConfigError(f"{path}: {where}: environment variable {name} is not set")
        return os.environ[name]

    return _ENV_REFERENCE.sub(lookup, node)


def _describe_validation_error(path: Path, exc: ValidationError, data: Any) -> str:
    """One line for the first error, e.g. ``feeds.yaml: feeds[2] (Reuters).interval: ...``."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    location = _format_location(error["loc"], data)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{path}: {location or 'top level'}: {message}{more}"


def _format_location(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = ""
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, dict) and node.get("name"):
                    label = f" ({node['name']})"
            else:
                node = None
            parts.append(f"[{item}]{label}")
        elif isinstance(node, dict) and item not in node and node.get("type") == item:
            continue  # the tag pydantic adds for a discriminated union
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _check_routes(path: Path, alerts: AlertsFile, rules: RulesFile) -> None:
    names = {rule.name for rule in rules.rules}
    for index, route in enumerate(alerts.routes):
        where = f"{path}: routes[{index}] ({route.name})"
        for channel in route.channels:
            if channel not in alerts.channels:
                raise ConfigError(f"{where}.channels: no channel named {channel!r}")
        if not route.rules and not route.tags:
            raise ConfigError(
                f'{where}: give rules: (rule names, or "*" for every rule) or tags:, or both'
            )
        for rule in route.rules:
            if (
                rule != "*"
                and rule not in names
                and rule not in BUILTIN_RULES
                and not rule.startswith("kb:")
            ):
                raise ConfigError(f"{where}.rules: no rule named {rule!r} in rules.yaml")
