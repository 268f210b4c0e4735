"""Helpers of the SIGKILL crash test: a ``bullet-trade server`` process that can be killed and
restarted on the same runtime directory, and the client's ledger of logical orders."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bullet_trade.cli.backends import SIM_STATE_FILE
from bullet_trade.server.journal.codec import remark_tag

TOKEN = "crash-test-token"
ACCOUNT = "main"
READY_DEADLINE = 30.0


class ServerProcess:
    """``python -m bullet_trade server`` on ``runtime`` (simulated broker, durable by default;
    rate limits off); each :meth:`start` is a new process on a fresh port."""

    def __init__(self, runtime: Path) -> None:
        self.runtime = runtime
        self.ready = runtime / "ready.json"
        self.output = runtime / "server-output.log"  # all runs, for the failure message
        self.starts = 0
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> int:
        """Start a server process and return its port once it wrote the ready file."""
        assert self._proc is None, "the previous process is still running"
        self.ready.unlink(missing_ok=True)
        self.runtime.mkdir(parents=True, exist_ok=True)
        with self.output.open("ab") as log:  # the child keeps its own copy of the descriptor
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bullet_trade", "server", "--listen", "127.0.0.1",
                "--port", "0", "--token", TOKEN, "--runtime-dir", str(self.runtime),
                "--ready-file", str(self.ready), "--sim-clock", "always-open",
                "--order-rate-limit", "0", "--rate-limit", "0", "--no-access-log",
                "--sim-cash", "1000000000",
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        self.starts += 1
        return await self._wait_ready(self._proc)

    async def _wait_ready(self, proc: asyncio.subprocess.Process) -> int:
        deadline = time.monotonic() + READY_DEADLINE
        while time.monotonic() < deadline:  # another process: nothing to await but its file
            if proc.returncode is not None:
                raise AssertionError(f"server exited with {proc.returncode}:\n{self.tail()}")
            try:
                info: dict[str, Any] = json.loads(self.ready.read_text())
                return int(info["port"])
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                await asyncio.sleep(0.02)
        raise AssertionError(f"server not ready after {READY_DEADLINE} s:\n{self.tail()}")

    async def kill(self) -> None:
        """SIGKILL the process (no shutdown code runs) and reap it."""
        await self._end(signal.SIGKILL, -signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM: a clean shutdown that must exit with 0."""
        await self._end(signal.SIGTERM, 0)

    async def _end(self, sig: signal.Signals, expected: int) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(sig)
        code = await asyncio.wait_for(proc.wait(), 30)
        assert code == expected, f"server exit code {code}, expected {expected}:\n{self.tail()}"

    def tail(self) -> str:
        try:
            return self.output.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""


@dataclass
class Logical:
    """One logical order of the client: the keys it was placed with (a new key only after the
    server settled the previous one as ``not_submitted``) and what the client knows."""

    index: int
    security: str
    keys: list[str] = field(default_factory=list)
    order_id: str | None = None
    status: str | None = None
    unknown_retries: int = 0
    busy: bool = False  # a worker is placing it right now

    @property
    def key(self) -> str:
        return self.keys[-1]

    @property
    def settled(self) -> bool:
        return self.order_id is not None


def broker_orders(runtime: Path) -> list[dict[str, Any]]:
    """Every order in the simulated broker's state file (read after the last server died)."""
    with closing(sqlite3.connect(runtime / SIM_STATE_FILE)) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT order_id, remark, idempotency_key, status, filled, amount FROM orders"
        )
        return [dict(row) for row in rows]


def attribute(orders: list[dict[str, Any]], ledger: list[Logical]) -> dict[int, list[str]]:
    """Logical order index → ids of the broker orders carrying one of its keys' remark tags.

    Raises:
        AssertionError: a broker order belongs to no logical order (an extra order).
    """
    owner = {remark_tag(ACCOUNT, key): item.index for item in ledger for key in item.keys}
    found: dict[int, list[str]] = {item.index: [] for item in ledger}
    for order in orders:
        tag = str(order["remark"]).split(" ", 1)[0]
        assert tag in owner, f"order {order['order_id']} ({order['remark']!r}) is not ours"
        found[owner[tag]].append(str(order["order_id"]))
    return found
