"""Reading a config directory: each YAML file parsed, ``${VAR}`` references expanded,
validated against its model (``schema.py``), and every problem turned into one
``ConfigError`` line that names the file, the key and what is wrong."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from .schema import (
    BUILTIN_RULES,
    AlertsFile,
    Config,
    EntitiesFile,
    FeedsFile,
    RulesFile,
    SettingsFile,
)

M = TypeVar("M", bound=BaseModel)


def default_config_dir() -> Path:
    """``./config`` when it holds a feeds.yaml, else the defaults shipped with wirewatch."""
    local = Path.cwd() / "config"
    if (local / "feeds.yaml").is_file():
        return local
    packaged = Path(__file__).resolve().parents[1] / "default_config"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "config"


def resolve_config_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    chosen = explicit or os.environ.get("WIREWATCH_CONFIG")
    return Path(chosen) if chosen else default_config_dir()


def load_config(directory: str | os.PathLike[str] | None = None) -> Config:
    path = resolve_config_dir(directory)
    if not path.is_dir():
        raise ConfigError(f"{path}: config directory not found")
    stamp = config_stamp(path)
    feeds = _load_file(path / "feeds.yaml", FeedsFile)
    rules = _load_file(path / "rules.yaml", RulesFile)
    alerts = _load_file(path / "alerts.yaml", AlertsFile)
    entities = load_entities(path)
    settings = load_settings(path)
    _check_routes(path / "alerts.yaml", alerts, rules)
    return Config(path, feeds, rules, alerts, entities, settings, stamp)


CONFIG_FILES = (
    "feeds.yaml",
    "rules.yaml",
    "entities.yaml",
    "eccns.yaml",
    "alerts.yaml",
    "settings.yaml",
)
"""The files whose change a running worker reloads."""


def config_stamp(directory: Path) -> tuple[int, ...]:
    """Modification times of the config files (0: absent); a few stat calls, cheap enough
    for every turn of a worker's main loop."""
    stamps = []
    for name in CONFIG_FILES:
        try:
            stamps.append((directory / name).stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return tuple(stamps)


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
