"""The file channel: one JSON object per alert or digest, appended to a JSON Lines file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ChannelError
from ..types import AlertMessage, DigestMessage, UpdateMessage
from .webhook import update_payload


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def to_json(message: AlertMessage | DigestMessage | UpdateMessage) -> str:
    if isinstance(message, UpdateMessage):
        payload = update_payload(message)
    elif isinstance(message, DigestMessage):
        payload = {"type": "digest", **asdict(message)}
    else:
        payload = {"type": "alert", "kind": "new", "new_facts": [], **asdict(message)}
    return json.dumps(payload, ensure_ascii=False, default=_jsonable)


class JsonlSink:
    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def send(self, message: AlertMessage) -> None:
        self._append(to_json(message))

    def send_digest(self, digest: DigestMessage) -> None:
        self._append(to_json(digest))

    def send_update(self, update: UpdateMessage) -> None:
        self._append(to_json(update))

    def _append(self, line: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise ChannelError(
                f"cannot write {self.path}: {exc.strerror or exc}", permanent=False
            ) from exc
