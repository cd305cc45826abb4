"""Peak memory of one fetch of a compression bomb, measured in a child process.

A local server on 127.0.0.1 serves small bodies that decompress to ``--size`` MiB of
zeros: brotli, gzip, deflate, and two gzip layers (``Content-Encoding: gzip, gzip``).
For each, a fresh Python process builds a ``Fetcher`` (body cap ``--cap`` MiB), fetches
the bomb once and reports its outcome and its peak resident memory (``VmHWM`` in /proc;
``ru_maxrss`` survives ``exec`` and would report the parent's); a plain small page gives
the baseline.

Run: ``python bench/bombs.py [--size 256 --cap 15]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys
from pipeline.config import FetchSettings
from pipeline.fetch import Fetcher
settings = FetchSettings(max_bytes=int(sys.argv[2]), allow_private_networks=True, per_host_delay=0)
fetcher = Fetcher(settings)
result = fetcher.get(sys.argv[1])
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0])
print(json.dumps({"outcome": result.outcome, "peak_kib": peak, "body": len(result.body)}))
"""


def _gzip_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()


def make_bombs(mib: int) -> dict[str, tuple[bytes, str]]:
    """name -> (body, Content-Encoding) for bodies that decode to ``mib`` MiB of zeros."""
    size = mib << 20
    gzipped = _gzip_zeros(size)
    return {
        "plain": (b"<rss></rss>", "identity"),
        "br": (brotli.compress(b"\0" * size, quality=5), "br"),
        "gzip": (gzipped, "gzip"),
        "deflate": (zlib.compress(b"\0" * size, 9), "deflate"),
        "gzip, gzip": (gzip.compress(gzipped, 9), "gzip, gzip"),
    }


@contextmanager
def serving(bombs: dict[str, tuple[bytes, str]]) -> Iterator[str]:
    """A local server with each bomb at ``/<index>``; yields its base URL."""
    bodies = list(bombs.values())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, encoding = bodies[int(self.path.strip("/"))]
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def measure(url: str, cap: int) -> dict[str, object]:
    """Outcome and peak RSS (KiB) of a fresh process fetching ``url`` once."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(cap)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        return {"outcome": f"crashed ({done.returncode})", "peak_kib": 0, "body": 0}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="MiB each bomb decodes to")
    parser.add_argument("--cap", type=int, default=15, help="body cap in MiB")
    args = parser.parse_args()
    bombs = make_bombs(args.size)
    with serving(bombs) as base:
        print(f"bombs of {args.size} MiB, body cap {args.cap} MiB")
        print(f"{'encoding':<12} {'wire bytes':>10} {'outcome':<22} {'peak RSS MiB':>12}")
        for index, (name, (body, _)) in enumerate(bombs.items()):
            found = measure(f"{base}/{index}", args.cap << 20)
            peak = int(found["peak_kib"]) / 1024  # type: ignore[call-overload]
            print(f"{name:<12} {len(body):>10} {found['outcome']!s:<22} {peak:>12.0f}")


if __name__ == "__main__":
    main()
