"""Per-session output: one writer task, so frames never interleave.

Two lanes feed the writer:

* the **control lane** (handshake ack, responses, errors, pongs) is a FIFO that never drops a
  frame; the session stops reading new requests while it is above a high-water mark, which is
  what bounds it;
* the **tick lane** is a :class:`TickBuffer`: bounded, and conflating, so a slow reader keeps
  only the newest unsent tick per symbol instead of an ever-growing backlog.

Control frames go first whenever both lanes have something to send.

**Direct writes.** A control frame is handed straight to the transport, without waking the
writer task, when nothing can be ahead of it or pile up behind it: the control lane is empty,
the writer is not waiting for the transport to drain, the transport is open and its own
buffer holds at most :data:`DIRECT_WRITE_LIMIT` bytes. Otherwise it is queued, and the
writer task writes it (and drains) in order. Order is kept because the writer never holds a
frame across an ``await`` (it writes a frame in the same step that dequeues it); backpressure
is kept because a full transport buffer sends frames back to the queue, whose high-water mark
pauses the session's reader.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from typing import Any, Generic, TypeVar

from bullet_trade.wire.codec import encode_json
from bullet_trade.wire.errors import EncodeError
from bullet_trade.wire.framing import encode_frame
from bullet_trade.wire.messages import ErrorMessage, Event, ServerMessage

logger = logging.getLogger("bullet_trade.server.session")

K = TypeVar("K")
V = TypeVar("V")

#: The reader pauses while this many control bytes wait to be written.
CONTROL_HIGH_WATER = 4 * 1024 * 1024
#: A peer that lets this much reply data pile up (it sends requests but does not read the
#: answers) is disconnected: bounds the server's memory per session.
CONTROL_HARD_LIMIT = 96 * 1024 * 1024
#: A control frame may bypass the writer task while the transport buffers at most this much
#: (asyncio's default high-water mark, so the writer's drain would not have waited).
DIRECT_WRITE_LIMIT = 64 * 1024


class TickBuffer(Generic[K, V]):
    """Bounded FIFO keyed by symbol; a newer item replaces the unsent one of the same key.

    A replaced item keeps its place in the queue (a busy symbol cannot starve the others).
    When ``capacity`` distinct keys are waiting, the oldest one is dropped to make room.

    Attributes:
        conflated: items replaced by a newer one of the same key.
        dropped: items evicted because the buffer was full.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self.conflated = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: K, item: V) -> None:
        if key in self._items:
            self._items[key] = item
            self.conflated += 1
            return
        if len(self._items) >= self._capacity:
            self._items.popitem(last=False)
            self.dropped += 1
        self._items[key] = item

    def pop(self) -> tuple[K, V] | None:
        """The oldest waiting item, or ``None`` when empty."""
        if not self._items:
            return None
        return self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def encode_message(message: ServerMessage, max_size: int) -> bytes:
    """One complete frame (header + body).

    Raises:
        EncodeError: a value has no JSON form, or the body exceeds ``max_size``.
    """
    return encode_frame(encode_json(message.to_wire()), max_size)


class Outbox:
    """The single writer of one connection.

    Args:
        writer: the connection's stream writer.
        max_frame_size: largest body that may be sent.
        tick_capacity: distinct symbols the tick lane holds before dropping the oldest.
        label: session label for log lines.
    """

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        *,
        max_frame_size: int,
        tick_capacity: int,
        label: str,
    ) -> None:
        self._writer = writer
        # a test double may have no transport: every frame then goes through the queue
        self._transport: asyncio.WriteTransport | None = getattr(writer, "transport", None)
        self._draining = False
        self._max_frame_size = max_frame_size
        self._label = label
        self._control: deque[bytes] = deque()
        self._control_bytes = 0
        self._ticks: TickBuffer[str, Event] = TickBuffer(max(1, tick_capacity))
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closing = False
        self.broken = asyncio.Event()

    # ------------------------------------------------------------ producers

    def send(self, message: ServerMessage) -> bool:
        """Queue a control frame. Never raises for an unencodable message.

        Returns:
            True when ``message`` was queued as given; False when it could not be encoded
            and an ``INTERNAL`` error for the same id was queued instead (or, for a message
            without id, nothing), or when the outbox is closing.
        """
        if self._closing:
            return False
        try:
            frame = encode_message(message, self._max_frame_size)
        except EncodeError:
            logger.exception("%s: cannot encode %s frame", self._label, type(message).__name__)
            self._queue(self._fallback(message))
            return False
        self._queue(frame)
        return True

    def push_tick(self, symbol: str, event: Event) -> None:
        """Send a tick now when the connection is idle (nothing queued, the peer keeping
        up); otherwise queue it, replacing any unsent tick of the same symbol (conflation)."""
        if self._closing:
            return
        if not self._ticks and self._idle():
            try:
                frame = encode_message(event, self._max_frame_size)
            except EncodeError:
                logger.exception("%s: dropping unencodable tick for %s", self._label, symbol)
                return
            assert self._transport is not None  # _idle() checked it
            self._transport.write(frame)
            return
        self._ticks.put(symbol, event)
        self._wakeup.set()

    @property
    def ticks(self) -> TickBuffer[str, Event]:
        return self._ticks

    @property
    def has_room(self) -> bool:
        """False while the control backlog is above the high-water mark."""
        return self._room.is_set()

    async def wait_room(self) -> None:
        """Return once the control backlog is below the high-water mark."""
        await self._room.wait()

    # ------------------------------------------------------------ writer

    async def run(self) -> None:
        """Write frames until :meth:`close` is called and both lanes are empty.

        A connection error ends the loop and sets :attr:`broken`.
        """
        try:
            while True:
                frame = self._next_frame()
                if frame is None:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                self._writer.write(frame)
                self._draining = True
                await self._writer.drain()
                self._draining = False
        except (ConnectionError, OSError) as exc:
            logger.debug("%s: write failed: %s", self._label, exc)
            self.broken.set()

    def close(self) -> None:
        """Accept no more frames; :meth:`run` returns once what is queued is written."""
        self._closing = True
        self._ticks.clear()
        self._wakeup.set()

    # ------------------------------------------------------------ internals

    def _idle(self) -> bool:
        """True when a frame may go straight to the transport: nothing queued before it, the
        writer not waiting on a slow peer, and little unsent data in the transport."""
        transport = self._transport
        return (
            transport is not None
            and not self._control
            and not self._draining
            and not transport.is_closing()
            and transport.get_write_buffer_size() <= DIRECT_WRITE_LIMIT
        )

    def _queue(self, frame: bytes | None) -> None:
        if frame is None:
            return
        if self._idle():
            assert self._transport is not None
            self._transport.write(frame)
            return
        self._control.append(frame)
        self._control_bytes += len(frame)
        if self._control_bytes > CONTROL_HIGH_WATER:
            self._room.clear()
        if self._control_bytes > CONTROL_HARD_LIMIT:
            self._overflow()
            return
        self._wakeup.set()

    def _overflow(self) -> None:
        """The peer does not read its replies: drop what is queued and end the session."""
        logger.warning("%s: %d bytes of replies unread; closing the connection", self._label,
                       self._control_bytes)
        self._control.clear()
        self._control_bytes = 0
        self._ticks.clear()
        self._closing = True
        if self._transport is not None:
            self._transport.abort()
        self.broken.set()
        self._wakeup.set()

    def _next_frame(self) -> bytes | None:
        if self._control:
            frame = self._control.popleft()
            self._control_bytes -= len(frame)
            if self._control_bytes <= CONTROL_HIGH_WATER:
                self._room.set()
            return frame
        while (item := self._ticks.pop()) is not None:
            try:
                return encode_message(item[1], self._max_frame_size)
            except EncodeError:
                logger.exception("%s: dropping unencodable tick for %s", self._label, item[0])
        return None

    def _fallback(self, message: ServerMessage) -> bytes | None:
        request_id: Any = getattr(message, "id", None)
        if not request_id:
            return None
        error = ErrorMessage(
            code="INTERNAL",
            message="internal error: the response could not be encoded; see server log",
            id=request_id,
        )
        try:
            return encode_message(error, self._max_frame_size)
        except EncodeError:  # an id that itself cannot be encoded
            logger.exception("%s: cannot encode the fallback error either", self._label)
            return None
