"""Content-Encoding with a bounded output: a few hostile bytes never become gigabytes.

The fetcher reads the raw bytes off the wire (``Response.iter_raw``) and passes them
through a ``BodyDecoder``, which produces at most ``PIECE`` bytes per decompression step
and stops as soon as the total passes ``limit``, however the body is compressed:

* ``gzip``/``x-gzip`` and ``deflate`` (zlib-wrapped or raw): ``zlib.decompressobj`` with
  ``max_length``;
* ``br``: ``brotli.Decompressor.process`` with ``output_buffer_limit`` (brotli >= 1.2);
  with an older brotli ``br`` is not advertised, and a server that sends it anyway gets
  ``unsupported_encoding``;
* one encoding layer only: ``Content-Encoding: gzip, gzip`` is refused, not unpacked twice.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import brotli

PIECE = 64 * 1024
"""The most output one decompression step may produce before the total is checked."""


class BodyTooLarge(Exception):
    pass


class UnsupportedEncoding(Exception):
    pass


def _brotli_is_bounded() -> bool:
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:
        return False
    except brotli.error:
        return True
    return True


BROTLI_BOUNDED = _brotli_is_bounded()


def accept_encoding() -> str:
    """What the fetcher advertises: only encodings whose output it can bound."""
    return "gzip, deflate, br" if BROTLI_BOUNDED else "gzip, deflate"


def encodings(header: str | None) -> list[str]:
    """The layers named by a ``Content-Encoding`` header, ``identity`` left out."""
    names = [part.strip().lower() for part in (header or "").split(",")]
    return [name for name in names if name and name != "identity"]


Steps = Callable[[bytes], Iterator[bytes]]


class BodyDecoder:
    """Turns raw body bytes into decoded bytes, never more than ``limit`` in total."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        layers = encodings(content_encoding)
        if len(layers) > 1:
            raise UnsupportedEncoding(f"stacked encodings are refused: {', '.join(layers)}")
        self.encoding = layers[0] if layers else "identity"
        self.limit = limit
        self.size = 0
        self._steps = _steps_for(self.encoding)

    def feed(self, raw: bytes) -> bytes:
        """The decoded bytes of the next raw piece; ``BodyTooLarge`` past the limit."""
        out: list[bytes] = []
        try:
            for piece in self._steps(raw):
                self.size += len(piece)
                if self.size > self.limit:
                    raise BodyTooLarge(f"body over the cap of {self.limit} bytes (decoded)")
                out.append(piece)
        except (zlib.error, brotli.error) as exc:
            raise UnsupportedEncoding(f"cannot decode the {self.encoding} body: {exc}") from None
        return b"".join(out)


def _steps_for(encoding: str) -> Steps:
    if encoding == "identity":
        return lambda data: iter((data,))
    if encoding in ("gzip", "x-gzip"):
        return _inflate_steps(zlib.decompressobj(zlib.MAX_WBITS | 16))
    if encoding == "deflate":
        return _deflate_steps()
    if encoding == "br" and BROTLI_BOUNDED:
        return _brotli_steps(brotli.Decompressor())
    raise UnsupportedEncoding(f"unsupported Content-Encoding {encoding!r}")


def _inflate_steps(inflater: zlib._Decompress) -> Steps:
    def steps(data: bytes) -> Iterator[bytes]:
        while not inflater.eof:
            piece = inflater.decompress(data, PIECE)
            data = inflater.unconsumed_tail
            if piece:
                yield piece
            if not data and len(piece) < PIECE:
                return

    return steps


def _deflate_steps() -> Steps:
    """``deflate`` as servers send it: zlib-wrapped, or (wrongly but often) raw."""
    chosen: list[Steps] = []

    def steps(data: bytes) -> Iterator[bytes]:
        if not chosen:
            wbits = zlib.MAX_WBITS if _zlib_header(data) else -zlib.MAX_WBITS
            chosen.append(_inflate_steps(zlib.decompressobj(wbits)))
        yield from chosen[0](data)

    return steps


def _zlib_header(data: bytes) -> bool:
    """Whether ``data`` starts with a zlib header (method 8, check bits valid)."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0


def _brotli_steps(decompressor: brotli.Decompressor) -> Steps:
    def steps(data: bytes) -> Iterator[bytes]:
        piece = decompressor.process(data, output_buffer_limit=PIECE)
        while True:
            if piece:
                yield piece
            if decompressor.is_finished():
                return
            drained = len(piece) < PIECE if data else not piece
            if drained and decompressor.can_accept_more_data():
                return
            piece = decompressor.process(b"", output_buffer_limit=PIECE)

    return steps
