"""The YAML config, validated at the edge.

A config directory holds ``feeds.yaml``, ``rules.yaml`` and ``alerts.yaml`` (and, when
present, ``entities.yaml`` and ``settings.yaml``). ``schema.py`` says what each file may
hold; ``loading.py`` reads a directory into one ``Config``. Any problem becomes one
``ConfigError`` line that names the file, the key and what is wrong. Nothing else in
wirewatch reads files or the environment for settings: the loaded ``Config`` is passed in.
"""

from ..errors import ConfigError
from .loading import (
    default_config_dir,
    load_config,
    load_entities,
    load_rules_file,
    load_settings,
    read_yaml,
    resolve_config_dir,
)
from .schema import (
    BUILTIN_RULES,
    FEED_DISABLED_RULE,
    AlertsFile,
    ChannelConfig,
    Config,
    ConsoleChannel,
    DedupeSettings,
    DeliverySettings,
    Duration,
    EmailChannel,
    EntitiesFile,
    EntityConfig,
    FeedConfig,
    FeedsFile,
    FetchSettings,
    FileChannel,
    KbSettings,
    RouteConfig,
    RuleConfig,
    RulesFile,
    SettingsFile,
    SlackChannel,
    UpdateSettings,
    WebhookChannel,
    WorkerSettings,
    http_url,
    parse_duration,
)

__all__ = [
    "BUILTIN_RULES",
    "FEED_DISABLED_RULE",
    "AlertsFile",
    "ChannelConfig",
    "Config",
    "ConfigError",
    "ConsoleChannel",
    "DedupeSettings",
    "DeliverySettings",
    "Duration",
    "EmailChannel",
    "EntitiesFile",
    "EntityConfig",
    "FeedConfig",
    "FeedsFile",
    "FetchSettings",
    "FileChannel",
    "KbSettings",
    "RouteConfig",
    "RuleConfig",
    "RulesFile",
    "SettingsFile",
    "SlackChannel",
    "UpdateSettings",
    "WebhookChannel",
    "WorkerSettings",
    "default_config_dir",
    "http_url",
    "load_config",
    "load_entities",
    "load_rules_file",
    "load_settings",
    "parse_duration",
    "read_yaml",
    "resolve_config_dir",
]
