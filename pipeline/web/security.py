"""The gate in front of every route: who is asking (session cookie or bearer token),
whether they may ask at all, and whether an unsafe request really comes from this site.
A pure ASGI middleware, so that it can read a form's CSRF field and hand the body on."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

from .accounts import token_principal, user_role
from .auth import SESSION_COOKIE, Principal, SessionCodec, same_token
from .csrf import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, same_origin
from .desk import Desk

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC = ("/login", "/static/")
MAX_FORM = 1 << 20
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class Gate:
    def __init__(self, app: ASGIApp, desk: Desk) -> None:
        self.app = app
        self.desk = desk
        self.codec = SessionCodec(desk.secret)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]
        unsafe = scope["method"] not in SAFE_METHODS
        if unsafe and not _from_this_site(scope, headers):
            await _refuse(send, 403, "cross-site request refused", path)
            return
        if path.startswith(PUBLIC):
            await self.app(scope, receive, send)
            return
        principal = self._principal(headers)
        if principal is None:
            await _unauthenticated(send, path, scope.get("query_string", b""))
            return
        scope["wirewatch.principal"] = principal
        if unsafe and principal.via == "session":
            receive, token = await _csrf_token(headers, receive)
            if not same_token(principal.csrf, token):
                await _refuse(send, 403, "missing or wrong CSRF token", path)
                return
        await self.app(scope, receive, send)

    def _principal(self, headers: dict[str, str]) -> Principal | None:
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
            return token_principal(self.desk.store, token, self.desk.clock())
        session = self.codec.load(_cookie(headers, SESSION_COOKIE))
        if session is None:
            return None
        role = user_role(self.desk.store, session["user"])
        return Principal(session["user"], role, csrf=session["csrf"]) if role else None


def _from_this_site(scope: Scope, headers: dict[str, str]) -> bool:
    host = headers.get("host", "")
    return same_origin(headers, scope.get("scheme", "http"), host)


def _cookie(headers: dict[str, str], name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


async def _csrf_token(headers: dict[str, str], receive: Receive) -> tuple[Receive, str | None]:
    """The token from the header, else from an urlencoded form (whose body is replayed)."""
    if CSRF_HEADER in headers:
        return receive, headers[CSRF_HEADER]
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return receive, None
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_FORM:
            return receive, None
    fields = parse_qs(body.decode("utf-8", "replace"))
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay, (fields.get(CSRF_FIELD) or [None])[0]


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            message["headers"] = [*message["headers"], *SECURITY_HEADERS]
        await send(message)

    return wrapped


async def _unauthenticated(send: Send, path: str, query: bytes) -> None:
    if path.startswith("/api/"):
        await _json(send, 401, {"error": "authentication required"},
                    [(b"www-authenticate", b"Bearer")])  # fmt: skip
        return
    target = path + ("?" + query.decode("latin-1") if query else "")
    location = "/login?next=" + quote(target, safe="")
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1"))]})  # fmt: skip
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send: Send, status: int, reason: str, path: str) -> None:
    if path.startswith("/api/"):
        await _json(send, status, {"error": reason})
        return
    body = f"{status}: {reason}\n".encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _json(
    send: Send, status: int, payload: dict[str, str], extra: list[tuple[bytes, bytes]] = ()
) -> None:  # type: ignore[assignment]
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
