"""Signing in and out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..accounts import authenticate
from ..auth import SESSION_COOKIE, SESSION_MAX_AGE, SessionCodec
from ..desk import desk_of


def _next(request: Request, given: str | None) -> str:
    target = given or "/"
    return target if target.startswith("/") and not target.startswith("//") else "/"


async def login_form(request: Request) -> Response:
    desk = desk_of(request)
    return desk.render(request, "login.html", next=_next(request, request.query_params.get("next")))


async def login(request: Request) -> Response:
    desk = desk_of(request)
    form = await request.form()
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    target = _next(request, str(form.get("next", "")))
    principal = authenticate(desk.store, name, password)
    if principal is None:
        return desk.render(
            request, "login.html", code=401, next=target, error="Wrong name or password."
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, SessionCodec(desk.secret).dump(principal.name),
        max_age=SESSION_MAX_AGE, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
