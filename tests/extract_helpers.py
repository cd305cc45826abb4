"""Extraction functions for the process-pool tests; importable by the spawned workers."""

import os
import time

from pipeline.types import Extracted


def hang_on_request(html: bytes, url: str, max_bytes: int) -> Extracted | None:
    if html == b"hang":
        time.sleep(120)
    if html == b"crash":
        os._exit(1)  # the worker process dies without a word
    if html == b"boom":
        raise RuntimeError("parser exploded")
    if html == b"hog":
        hoard = [bytearray(64 * 1024 * 1024) for _ in range(64)]  # 4 GiB: over the cap
        return Extracted(text=str(len(hoard)))
    return Extracted(text=f"text of {url}")
