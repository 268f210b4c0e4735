"""Errors raised by the sans-I/O protocol layer.

They carry a stable code so the I/O drivers can answer with an ``error`` frame.
"""

from __future__ import annotations


class WireError(Exception):
    """A frame or message that violates the protocol."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class FrameTooLarge(WireError):
    """The length header announces more than the allowed maximum. Framing cannot recover."""


class MalformedFrame(WireError):
    """The body is not UTF-8 JSON, or not a JSON object. Framing is intact."""


class MalformedMessage(WireError):
    """The JSON object is not a valid message (missing or mistyped field)."""


class EncodeError(WireError):
    """A value could not be encoded (server bug or an oversize response)."""

    code = "INTERNAL"
