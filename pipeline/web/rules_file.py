"""Saving one rule into rules.yaml in place: comments, order and the other rules survive
(ruamel.yaml round trip). The new file is validated exactly as ``wirewatch rules check``
validates it before it replaces the old one, so a bad rule never reaches the workers."""

from __future__ import annotations

import io
import os
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString

from ..config import load_entities, load_rules_file
from ..errors import ConfigError
from ..match import RuleSet


def _yaml() -> YAML:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.preserve_quotes = True
    return yaml


def updated_rules_text(text: str, name: str, query: str, description: str | None) -> str:
    """rules.yaml ``text`` with rule ``name`` given ``query`` (added at the end if new)."""
    yaml = _yaml()
    document = yaml.load(text) or CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ConfigError("rules.yaml: the top level must be a mapping with a rules: list")
    if document.get("rules") is None:
        document["rules"] = CommentedSeq()
    rules = document["rules"]
    query = " ".join(query.split())
    value = FoldedScalarString(query) if len(query) > 70 else query
    for entry in rules:
        if isinstance(entry, dict) and entry.get("name") == name:
            entry["query"] = value
            if description is not None:
                entry["description"] = description
            break
    else:
        entry = CommentedMap(name=name)
        if description:
            entry["description"] = description
        entry["query"] = value
        rules.append(entry)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def save_rule(path: Path, name: str, query: str, description: str | None = None) -> RuleSet:
    """Write the rule into ``path`` if the whole file then passes ``rules check``;
    otherwise raise ``ConfigError`` with the same one-line message and leave it alone."""
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    text = updated_rules_text(original, name, query, description)
    temporary = path.with_name(f".{path.name}.saving")
    temporary.write_text(text, encoding="utf-8")
    try:
        ruleset = _check(temporary, path)
    except ConfigError:
        temporary.unlink(missing_ok=True)
        raise
    if path.exists():
        os.chmod(temporary, path.stat().st_mode & 0o777)
    temporary.replace(path)
    return ruleset


def _check(candidate: Path, path: Path) -> RuleSet:
    """``rules check`` on ``candidate``, its messages naming ``path``."""
    try:
        rules = load_rules_file(candidate).rules
        entities = load_entities(path.parent).entities
        return RuleSet.from_config(rules, str(path), entities)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(str(candidate), str(path))) from None
