"""Length-prefixed framing: 4-byte big-endian body length, then the body.

Sans-I/O: feed bytes in, get complete frame bodies out.
"""

from __future__ import annotations

import struct

from bullet_trade.wire.errors import EncodeError, FrameTooLarge

HEADER = struct.Struct(">I")
HEADER_SIZE = HEADER.size
DEFAULT_MAX_FRAME = 32 * 1024 * 1024


def encode_frame(body: bytes, max_size: int = DEFAULT_MAX_FRAME) -> bytes:
    """Prefix ``body`` with its length.

    Raises:
        EncodeError: the body is larger than ``max_size``.
    """
    if len(body) > max_size:
        raise EncodeError(f"frame of {len(body)} bytes exceeds the limit of {max_size}")
    return HEADER.pack(len(body)) + body


class FrameDecoder:
    """Incremental decoder. ``feed`` returns every frame body completed by the new bytes.

    A body of exactly ``max_size`` bytes is accepted. A larger announced length raises
    :class:`FrameTooLarge` as soon as the header is complete (before buffering the body); the
    decoder is then unusable because the stream cannot be resynchronised.
    """

    def __init__(self, max_size: int = DEFAULT_MAX_FRAME) -> None:
        self._max_size = max_size
        self._buffer = bytearray()
        self._need: int | None = None
        self._failed = False

    @property
    def max_size(self) -> int:
        return self._max_size

    def set_max_size(self, max_size: int) -> None:
        """Change the limit (e.g. raise it once a session is authenticated)."""
        self._max_size = max_size

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        if self._failed:
            raise FrameTooLarge("decoder already failed on an oversize frame")
        self._buffer += data
        frames: list[bytes] = []
        while True:
            body = self._next()
            if body is None:
                return frames
            frames.append(body)

    def _next(self) -> bytes | None:
        if self._need is None:
            if len(self._buffer) < HEADER_SIZE:
                return None
            (length,) = HEADER.unpack_from(self._buffer)
            if length > self._max_size:
                self._failed = True
                raise FrameTooLarge(
                    f"frame of {length} bytes exceeds the limit of {self._max_size}"
                )
            del self._buffer[:HEADER_SIZE]
            self._need = length
        if len(self._buffer) < self._need:
            return None
        body = bytes(self._buffer[: self._need])
        del self._buffer[: self._need]
        self._need = None
        return body
