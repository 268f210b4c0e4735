"""The per-session writer: conflating tick buffer, control-first ordering, encode fallback."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

import pytest

from bullet_trade.server.outbox import Outbox, TickBuffer
from bullet_trade.wire.messages import Event, Pong, Response


def test_tick_buffer_conflates_newest_per_symbol_in_place() -> None:
    buf: TickBuffer[str, int] = TickBuffer(capacity=10)
    buf.put("A", 1)
    buf.put("B", 1)
    buf.put("A", 2)
    buf.put("A", 3)
    assert len(buf) == 2
    assert buf.conflated == 2
    assert buf.pop() == ("A", 3)  # A keeps its place, with the newest value
    assert buf.pop() == ("B", 1)
    assert buf.pop() is None


def test_tick_buffer_is_bounded() -> None:
    buf: TickBuffer[str, int] = TickBuffer(capacity=2)
    for i, key in enumerate("ABCD"):
        buf.put(key, i)
    assert len(buf) == 2
    assert buf.dropped == 2
    assert [buf.pop(), buf.pop()] == [("C", 2), ("D", 3)]


def test_tick_buffer_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TickBuffer(0)


class GatedWriter:
    """Stands in for a StreamWriter whose peer reads only when the test says so."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.wrote = asyncio.Event()

    def write(self, data: bytes) -> None:
        (length,) = struct.unpack(">I", data[:4])
        assert len(data) == 4 + length
        self.frames.append(json.loads(data[4:]))
        self.wrote.set()

    async def drain(self) -> None:
        await self.gate.wait()


def _tick(symbol: str, price: float) -> Event:
    return Event(event="tick", payload={"symbol": symbol, "last_price": price})


async def test_slow_reader_gets_conflated_ticks_and_every_control_frame() -> None:
    writer = GatedWriter()
    outbox = Outbox(writer, max_frame_size=1 << 20, tick_capacity=8, label="t")  # type: ignore[arg-type]
    task = asyncio.create_task(outbox.run())
    outbox.push_tick("A", _tick("A", 1))
    await writer.wrote.wait()  # A@1 written; the writer now blocks in drain
    for price in (2, 3, 4):
        outbox.push_tick("A", _tick("A", price))
    outbox.push_tick("B", _tick("B", 1))
    assert outbox.send(Pong(id="p1"))
    assert outbox.send(Response(id="r1", payload=1))
    writer.gate.set()
    outbox.close()
    await task
    kinds = [(f["type"], f.get("id") or f.get("payload", {}).get("symbol")) for f in writer.frames]
    # close() drops ticks not yet written; control frames are never dropped
    assert kinds == [("event", "A"), ("pong", "p1"), ("response", "r1")]


async def test_conflated_ticks_written_after_control_frames() -> None:
    writer = GatedWriter()
    outbox = Outbox(writer, max_frame_size=1 << 20, tick_capacity=8, label="t")  # type: ignore[arg-type]
    task = asyncio.create_task(outbox.run())
    outbox.push_tick("A", _tick("A", 1))
    await writer.wrote.wait()
    for price in (2, 3, 4):
        outbox.push_tick("A", _tick("A", price))
    outbox.push_tick("B", _tick("B", 1))
    outbox.send(Pong(id="p1"))
    writer.gate.set()
    while len(writer.frames) < 4:
        writer.wrote.clear()
        await writer.wrote.wait()
    outbox.close()
    await task
    prices = [
        (f.get("id") or f["payload"]["symbol"], f.get("payload", {}).get("last_price"))
        for f in writer.frames
    ]
    assert prices == [("A", 1), ("p1", None), ("A", 4), ("B", 1)]
    assert outbox.ticks.conflated == 2


async def test_unencodable_response_becomes_internal_error() -> None:
    writer = GatedWriter()
    writer.gate.set()
    outbox = Outbox(writer, max_frame_size=1 << 20, tick_capacity=8, label="t")  # type: ignore[arg-type]
    task = asyncio.create_task(outbox.run())
    assert not outbox.send(Response(id="r1", payload={"x": object()}))
    assert not outbox.send(Response(id=None, payload={"x": object()}))  # no id: nothing to say
    outbox.close()
    await task
    assert len(writer.frames) == 1
    assert writer.frames[0]["code"] == "INTERNAL"
    assert writer.frames[0]["id"] == "r1"


class FakeTransport:
    """A transport whose write buffer size the test controls."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.buffered = 0

    def write(self, data: bytes) -> None:
        self.frames.append(json.loads(data[4:]))

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.buffered


class TransportWriter(GatedWriter):
    def __init__(self) -> None:
        super().__init__()
        self.transport = FakeTransport()


async def test_tick_goes_straight_out_when_idle_and_is_buffered_when_backed_up() -> None:
    writer = TransportWriter()
    outbox = Outbox(writer, max_frame_size=1 << 20, tick_capacity=8, label="t")  # type: ignore[arg-type]
    outbox.push_tick("A", _tick("A", 1))  # idle: written at once, no writer task needed
    assert [f["payload"]["last_price"] for f in writer.transport.frames] == [1]
    writer.transport.buffered = 1 << 30  # the peer stopped reading
    outbox.push_tick("A", _tick("A", 2))
    outbox.push_tick("A", _tick("A", 3))
    assert len(writer.transport.frames) == 1 and len(outbox.ticks) == 1  # conflated, queued
    writer.transport.buffered = 0
    outbox.push_tick("B", _tick("B", 4))  # a tick is still queued: keep order, queue this one
    assert len(writer.transport.frames) == 1 and len(outbox.ticks) == 2


async def test_peer_that_never_reads_is_cut_off_at_the_hard_limit(monkeypatch) -> None:
    import bullet_trade.server.outbox as outbox_mod

    monkeypatch.setattr(outbox_mod, "CONTROL_HARD_LIMIT", 10_000)
    writer = GatedWriter()  # never drains: nothing leaves the queue
    outbox = Outbox(writer, max_frame_size=1 << 20, tick_capacity=8, label="t")  # type: ignore[arg-type]
    task = asyncio.create_task(outbox.run())
    outbox.send(Response(id="r0", payload="x"))  # the writer takes this one and blocks
    await writer.wrote.wait()
    for i in range(40):
        outbox.send(Response(id=f"r{i + 1}", payload="y" * 500))
    assert outbox.broken.is_set()
    assert not outbox.send(Response(id="late", payload=1))  # closing: refused
    writer.gate.set()
    await asyncio.wait_for(task, 1)
