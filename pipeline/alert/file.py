"""The file channel: one JSON object per alert, appended to a JSON Lines file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from ..errors import ChannelError
from ..types import AlertMessage


def to_json(message: AlertMessage) -> str:
    record = asdict(message)
    record["published"] = message.published.isoformat() if message.published else None
    return json.dumps(record, ensure_ascii=False)


class JsonlSink:
    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def send(self, message: AlertMessage) -> None:
        line = to_json(message) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise ChannelError(
                f"cannot write {self.path}: {exc.strerror or exc}", permanent=False
            ) from exc
