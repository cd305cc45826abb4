"""The web desk as one ASGI app: Starlette routes behind the security gate.

``create_app`` takes everything it needs (store, config directory, session secret,
clock); ``wirewatch web`` builds those and serves the app with uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from ..clock import utcnow
from ..errors import WirewatchError
from ..store import Store
from .desk import HERE, Desk
from .routes import api, matches, rules, session, sources, stories
from .security import Gate


def create_app(
    store: Store, config_dir: Path, secret: str, clock: Callable[[], datetime] = utcnow
) -> Starlette:
    desk = Desk(store, config_dir, secret, clock)
    app = Starlette(
        routes=[
            *session.routes, *matches.routes, *stories.routes, *sources.routes,
            *rules.routes, *api.routes,
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        middleware=[Middleware(Gate, desk=desk)],
        exception_handlers={HTTPException: _http_error, WirewatchError: _wirewatch_error},
    )  # fmt: skip
    app.state.desk = desk
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    desk: Desk = request.app.state.desk
    if request.scope.get("wirewatch.principal") is None:
        return PlainTextResponse(f"{exc.status_code}: {exc.detail}\n", exc.status_code)
    return desk.render(request, "error.html", code=exc.status_code, message=exc.detail)


async def _wirewatch_error(request: Request, exc: Exception) -> Response:
    """A known error (bad config, database down) is one line, not a traceback."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=500)
    return PlainTextResponse(f"wirewatch: error: {exc}\n", status_code=500)
