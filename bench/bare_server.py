"""The ceiling: a bare asyncio server that answers every frame with a canned response.

It parses the length prefix and the JSON body (it needs the request ``id``) and answers a
handshake with a canned ``handshake_ack`` and anything else with a canned ``broker.account``
response. Nothing else happens, so its CPU per request is what framing + JSON + the asyncio
transport cost in this Python on this machine.

Run: ``python -m bench.bare_server --port N``; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import struct

import orjson

_HEADER = struct.Struct(">I")
_ACK = {"type": "handshake_ack", "session_id": "s000000000000", "keepalive": 20,
        "protocol": 1, "features": ["data", "broker"]}
_ACCOUNT = {"dtype": "dict", "value": {"account_id": "100001", "total_asset": 1_000_000.0,
            "available_cash": 1_000_000.0, "market_value": 0.0, "frozen_cash": 0.0}}


class CannedProtocol(asyncio.Protocol):
    """Frame parser that replies to each frame at once."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        out = []
        while len(buffer) >= 4:
            (length,) = _HEADER.unpack_from(buffer)
            if len(buffer) < 4 + length:
                break
            frame = orjson.loads(bytes(buffer[4 : 4 + length]))
            del buffer[: 4 + length]
            if frame.get("type") == "handshake":
                body = orjson.dumps(_ACK)
            else:
                body = orjson.dumps({"type": "response", "id": frame.get("id"),
                                     "payload": _ACCOUNT})
            out.append(_HEADER.pack(len(body)) + body)
        if out and self._transport is not None:
            self._transport.write(b"".join(out))


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(CannedProtocol, "127.0.0.1", port, backlog=1024)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
