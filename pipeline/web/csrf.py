"""Cross-site request checks for unsafe methods, as pure functions of the request's
headers: a same-origin ``Origin`` or ``Sec-Fetch-Site``, and the session's CSRF token in a
form field or the ``X-CSRF-Token`` header (htmx sends it on every request)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def same_origin(headers: Mapping[str, str], scheme: str, host: str) -> bool:
    """False when the browser says the request comes from another site.

    ``Sec-Fetch-Site`` (sent by every current browser) must be ``same-origin`` or ``none``
    (typed by the user); otherwise ``Origin``, when present, must be this scheme and host.
    A request with neither header is not from a browser that follows these rules; the
    CSRF token still has to match."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc.lower() == host.lower()
