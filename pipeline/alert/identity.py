"""Who holds a lease: host and process, readable in ``wirewatch alerts``."""

from __future__ import annotations

import os
import socket


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
