"""The three servers every figure can start: ours, the published one, the bare ceiling."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from bench.peer import Peer, peer_env, server_argv
from bench.procs import ServerProcess, free_port

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"


@dataclass(slots=True)
class BenchContext:
    """What the figures share.

    Attributes:
        quick: CI smoke sizes (seconds, not minutes).
        results: directory for server logs and the latest table.
        peer: the published package, or ``None`` with ``peer_reason`` saying why.
    """

    quick: bool
    results: Path
    peer: Peer | None
    peer_reason: str = ""

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def ours(ctx: BenchContext, label: str, *args: str) -> ServerProcess:
    """Our server (sim backend) with ``bench.launch_ours`` options ``args``."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.launch_ours", "--port", str(port), "--token", TOKEN,
            *args]
    return ServerProcess(f"ours-{label}", argv, port=port, cwd=REPO,
                         log_path=ctx.results / f"ours-{label}.log")


def published(
    ctx: BenchContext, label: str, *, history_delay: float = 0.0, extra: list[str] | None = None
) -> ServerProcess | None:
    """The published server (stub backend), or ``None`` when the peer is unavailable."""
    if ctx.peer is None:
        return None
    port = free_port()
    argv = server_argv(ctx.peer, port=port, token=TOKEN, extra=extra)
    return ServerProcess(f"published-{label}", argv, port=port, cwd=ctx.peer.workdir,
                         env=peer_env(history_delay),
                         log_path=ctx.results / f"published-{label}.log")


def bare(ctx: BenchContext, label: str) -> ServerProcess:
    """The canned-response asyncio server (the ceiling)."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.bare_server", "--port", str(port)]
    return ServerProcess(f"bare-{label}", argv, port=port, cwd=REPO,
                         log_path=ctx.results / f"bare-{label}.log")
