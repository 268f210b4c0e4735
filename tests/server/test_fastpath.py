"""The small-request fast path: per-request deadlines without wait_for, the idle watchdog,
and direct writes that keep order and backpressure."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import orjson

from bullet_trade.server.deadline import Deadline
from bullet_trade.server.idle import IdleWatchdog
from bullet_trade.server.outbox import DIRECT_WRITE_LIMIT, Outbox
from bullet_trade.wire.messages import Pong, Response


async def test_deadline_cancels_only_its_task_and_withdraws_the_cancellation() -> None:
    async def slow() -> str:
        deadline = Deadline.arm(0.01)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            assert deadline.disarm()
            task = asyncio.current_task()
            assert task is not None and task.cancelling() == 0  # withdrawn: not "being cancelled"
            return "expired"
        return "finished"

    assert await asyncio.create_task(slow()) == "expired"


async def test_deadline_disarmed_in_time_never_fires() -> None:
    async def fast() -> bool:
        deadline = Deadline.arm(0.01)
        await asyncio.sleep(0)
        expired = deadline.disarm()
        await asyncio.sleep(0.03)  # the timer would have fired by now
        return expired

    assert await asyncio.create_task(fast()) is False


async def test_foreign_cancellation_is_not_a_timeout() -> None:
    seen: list[bool] = []

    async def victim() -> None:
        deadline = Deadline.arm(10)
        try:
            await asyncio.sleep(10)
        finally:
            seen.append(deadline.disarm())

    task = asyncio.create_task(victim())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() and seen == [False]


async def test_idle_watchdog_spares_a_busy_session_then_fires() -> None:
    busy = [True]
    outcome: list[str] = []

    async def reader() -> None:
        watchdog = IdleWatchdog(0.02, lambda: busy[0])
        watchdog.start()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            outcome.append("idle" if watchdog.absorb() else "cancelled")
        finally:
            watchdog.stop()

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.07)
    assert not outcome  # several windows passed while busy
    busy[0] = False
    await asyncio.wait_for(task, 1)
    assert outcome == ["idle"] and not task.cancelled()


class FakeTransport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.buffered = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered


class FakeWriter:
    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.gate = asyncio.Event()
        self.gate.set()

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    async def drain(self) -> None:
        await self.gate.wait()


def _frames(data: bytes) -> list[dict[str, Any]]:
    out, pos = [], 0
    while pos < len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        out.append(orjson.loads(data[pos + 4 : pos + 4 + size]))
        pos += 4 + size
    return out


async def test_direct_write_when_idle_and_queue_when_the_transport_is_full() -> None:
    writer = FakeWriter()
    outbox = Outbox(writer, max_frame_size=1 << 20, tick_capacity=4, label="t")  # type: ignore[arg-type]
    task = asyncio.create_task(outbox.run())
    assert outbox.send(Pong(id="a"))
    assert [f["id"] for f in _frames(bytes(writer.transport.data))] == ["a"]  # no task step
    writer.transport.buffered = DIRECT_WRITE_LIMIT + 1  # the kernel is not taking more
    writer.gate.clear()
    for rid in ("b", "c", "d"):
        outbox.send(Response(id=rid, payload=1))
    assert len(_frames(bytes(writer.transport.data))) == 1  # queued, not written
    await asyncio.sleep(0)  # the writer writes "b" and blocks in drain
    writer.transport.buffered = 0
    outbox.send(Response(id="e", payload=1))  # writer draining: must queue behind c, d
    writer.gate.set()
    outbox.close()
    await task
    assert [f["id"] for f in _frames(bytes(writer.transport.data))] == ["a", "b", "c", "d", "e"]
