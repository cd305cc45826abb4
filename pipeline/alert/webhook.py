"""The webhook channel: each alert or digest as a JSON POST, for Teams, Discord, n8n …

With a ``secret``, the body is signed: ``X-Wirewatch-Signature: sha256=<hex>`` is the
HMAC-SHA256 of ``<timestamp>.<body>`` with the timestamp in ``X-Wirewatch-Timestamp``.
``Idempotency-Key`` is stable per alert, so a receiver can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

import httpx

from .. import __version__
from ..config import WebhookChannel
from ..errors import ChannelError
from ..fetch import parse_retry_after
from ..types import AlertMessage, DigestMessage, UpdateMessage


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


RESERVED_HEADERS = frozenset(
    {"idempotency-key", "x-wirewatch-timestamp", "x-wirewatch-signature", "content-type"}
)


def user_headers(headers: dict[str, str]) -> dict[str, str]:
    """The configured extra headers, without those wirewatch sets itself: a user header
    can never replace the signature, the timestamp or the idempotency key."""
    return {name: value for name, value in headers.items() if name.lower() not in RESERVED_HEADERS}


def idempotency_key(key: str, installation: str = "") -> str:
    """Stable per alert and installation: story ids restart after a database reset, so
    the installation id keeps a new alert from reusing an old alert's key."""
    return hashlib.sha256(f"{installation}:{key}".encode()).hexdigest()[:32]


def update_payload(update: UpdateMessage) -> dict[str, Any]:
    """An update as JSON: ``kind`` and ``new_facts`` (the new sentences) at the top level."""
    body = asdict(update)
    return {"type": "alert", "kind": "update", "new_facts": list(body.pop("new_facts")), **body}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class WebhookSink:
    def __init__(
        self,
        name: str,
        config: WebhookChannel,
        client: httpx.Client | None = None,
        installation: str = "",
    ) -> None:
        self.name = name
        self.config = config
        self.installation = installation
        self._client = client or httpx.Client(timeout=config.timeout)

    def send(self, message: AlertMessage) -> None:
        payload = {"type": "alert", "kind": "new", "new_facts": [], **asdict(message)}
        self._post(payload, message.key)

    def send_update(self, update: UpdateMessage) -> None:
        self._post(update_payload(update), update.key)

    def send_digest(self, digest: DigestMessage) -> None:
        self._post({"type": "digest", **asdict(digest)}, digest.key)

    def _post(self, payload: dict[str, Any], key: str) -> None:
        body = json.dumps(payload, default=_jsonable, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"wirewatch/{__version__}",
            **user_headers(self.config.headers),
            "Idempotency-Key": idempotency_key(key, self.installation),
            "X-Wirewatch-Timestamp": timestamp,
        }
        if self.config.secret:
            headers["X-Wirewatch-Signature"] = sign(self.config.secret, timestamp, body)
        try:
            response = self._client.post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"webhook unreachable: {exc}", permanent=False) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        temporary = status in (408, 425, 429) or status >= 500
        raise ChannelError(
            f"webhook answered {status}", permanent=not temporary, retry_after=retry_after
        )
