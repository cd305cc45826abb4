"""Small helpers the route modules share: roles, forms, redirects, int parameters."""

from __future__ import annotations

from datetime import timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

from ...config import parse_duration
from ..desk import principal_of


def need(request: Request, role: str) -> None:
    """403 unless the principal's role includes ``role``."""
    if not principal_of(request).may(role):
        raise HTTPException(403, f"this needs the {role} role")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def back(request: Request, fallback: str, **hx_trigger: str) -> RedirectResponse:
    """After a plain form POST: 303 to the page it came from (``next`` must be local)."""
    target = request.query_params.get("next") or fallback
    if not target.startswith("/") or target.startswith("//"):
        target = fallback
    return RedirectResponse(target, status_code=303)


def int_param(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value not in (None, "") else default
    except ValueError:
        raise HTTPException(400, f"not a whole number: {value!r}") from None
    return max(low, min(high, number))


def since_param(value: str | None, default: str = "7d") -> tuple[str, timedelta]:
    text = value or default
    try:
        return text, parse_duration(text)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
