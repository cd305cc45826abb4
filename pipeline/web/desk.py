"""What every route shares: the store, the config directory, the clock and templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from ..clock import utcnow
from ..config import EntityConfig, RuleConfig, load_entities, load_rules_file
from ..match import RuleSet
from ..store import Store
from .auth import Principal

HERE = Path(__file__).parent


@dataclass
class Desk:
    store: Store
    config_dir: Path
    secret: str
    clock: Callable[[], datetime] = utcnow
    templates: Jinja2Templates = field(init=False)
    _cache: dict[str, tuple[object, Any]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters.update(marked=marked, link=safe_link, when=when)

    @property
    def rules_path(self) -> Path:
        return self.config_dir / "rules.yaml"

    def rules(self) -> list[RuleConfig]:
        """Read again whenever the file changes (the workbench may have just saved it)."""
        return self._cached("rules", lambda: load_rules_file(self.rules_path).rules)

    def entities(self) -> list[EntityConfig]:
        return self._cached("entities", lambda: load_entities(self.config_dir).entities)

    def ruleset(self) -> RuleSet:
        """Every saved rule, compiled (without entity detection: the desk only matches)."""
        return self._cached(
            "ruleset",
            lambda: RuleSet(
                RuleSet.from_config(self.rules(), str(self.rules_path), self.entities()).rules
            ),
        )

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        """``load()``, kept until rules.yaml or entities.yaml changes on disk."""
        stamp = tuple(_mtime(self.config_dir / name) for name in ("rules.yaml", "entities.yaml"))
        known = self._cache.get(key)
        if known is not None and known[0] == stamp:
            return known[1]
        value = load()
        self._cache[key] = (stamp, value)
        return value

    def render(self, request: Request, template: str, /, code: int = 200, **context: Any) -> Any:
        principal: Principal | None = request.scope.get("wirewatch.principal")
        context.update(user=principal, csrf=principal.csrf if principal else "")
        return self.templates.TemplateResponse(request, template, context, status_code=code)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def desk_of(request: Request) -> Desk:
    return request.app.state.desk  # type: ignore[no-any-return]


def principal_of(request: Request) -> Principal:
    return request.scope["wirewatch.principal"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- filters


def marked(snippet: str) -> Markup:
    """Evidence with ``**term**`` marks -> escaped text with ``<mark>`` around the terms."""
    pieces = str(snippet).split("**")
    out = [
        Markup("<mark>{}</mark>").format(piece) if index % 2 else escape(piece)
        for index, piece in enumerate(pieces)
    ]
    return Markup("").join(out)


def safe_link(url: str | None) -> str | None:
    """The URL if it is http(s); anything else (``javascript:``, ``data:``) is no link."""
    if not url:
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    return url.strip() if scheme in ("http", "https") else None


def when(moment: datetime | None) -> Markup:
    """A ``<time>`` in UTC; desk.js shows it in the viewer's time zone."""
    if moment is None:
        return Markup("never")
    return Markup('<time datetime="{}">{}</time>').format(
        moment.isoformat(), moment.strftime("%Y-%m-%d %H:%M UTC")
    )
