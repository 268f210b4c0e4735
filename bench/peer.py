"""The published ``bullet-trade`` package as a black-box peer, in its own virtualenv.

``ensure_peer()`` creates (or reuses) ``bench/.peer-venv`` with ``pip install bullet-trade``
and writes a tiny launcher script into it. The published CLI does not register its in-memory
``stub`` backend, so the launcher imports ``bullet_trade.server.adapters.stub`` first and then
calls ``bullet_trade.cli.main.main()`` with ``server --server-type stub ...``.

Nothing of the published package is imported here or anywhere in our package: it only ever
runs inside the peer venv's interpreter, started with ``-I`` from a directory outside this
repository so our own ``bullet_trade`` can never shadow it.

Run ``python -m bench.peer`` to create the venv (``make bench`` does it on first use).
If the installation fails (offline), the suite reports "peer unavailable" and continues.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PEER_VENV = Path(os.environ.get("BT_PEER_VENV", BENCH_DIR / ".peer-venv"))
PACKAGE = os.environ.get("BT_PEER_PACKAGE", "bullet-trade")
_STAMP = ".bench-peer-ok"

#: The launcher written into the peer venv. ``BT_BENCH_HISTORY_DELAY`` (seconds) wraps the
#: stub's ``get_history`` with an ``asyncio.sleep`` so the head-of-line figure can give the
#: published server the same slow backend call our simulator gets from ``SimConfig.latency``.
LAUNCHER = '''\
"""Start the published bullet-trade server with its stub backend (written by bench/peer.py)."""
import asyncio
import functools
import os
import sys

import bullet_trade.server.adapters.stub as stub

delay = float(os.environ.get("BT_BENCH_HISTORY_DELAY", "0") or 0)
if delay > 0:
    original = stub.StubDataAdapter.get_history

    @functools.wraps(original)
    async def slow_history(self, payload):
        await asyncio.sleep(delay)
        return await original(self, payload)

    stub.StubDataAdapter.get_history = slow_history

from bullet_trade.cli.main import main

sys.argv = ["bullet-trade", "server", "--server-type", "stub", *sys.argv[1:]]
sys.exit(main())
'''


@dataclass(frozen=True, slots=True)
class Peer:
    """A usable peer installation."""

    python: Path
    launcher: Path
    version: str
    workdir: Path


def _python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _version(python: Path, workdir: Path) -> str:
    out = subprocess.run(
        [str(python), "-I", "-c", "import bullet_trade; print(bullet_trade.__version__)"],
        capture_output=True, text=True, cwd=workdir, timeout=60, check=True,
    )
    return out.stdout.strip()


def ensure_peer(*, install: bool = True, quiet: bool = True) -> tuple[Peer | None, str]:
    """The peer installation, creating it when ``install`` is true.

    Returns:
        ``(peer, "")`` when usable, else ``(None, reason)``.
    """
    python = _python(PEER_VENV)
    workdir = PEER_VENV / "run"
    stamp = PEER_VENV / _STAMP
    if not stamp.exists():
        if not install:
            return None, f"peer venv {PEER_VENV} not created (run python -m bench.peer)"
        try:
            if not python.exists():
                venv.EnvBuilder(with_pip=True).create(PEER_VENV)
            cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", PACKAGE]
            if quiet:
                cmd.insert(4, "-q")
            subprocess.run(cmd, check=True, timeout=900, cwd=BENCH_DIR)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"peer unavailable: installing {PACKAGE} failed ({exc})"
        stamp.write_text(PACKAGE + "\n")
    workdir.mkdir(parents=True, exist_ok=True)
    launcher = PEER_VENV / "launch_published.py"
    launcher.write_text(LAUNCHER)
    try:
        version = _version(python, workdir)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"peer unavailable: {PACKAGE} does not import ({exc})"
    return Peer(python=python, launcher=launcher, version=version, workdir=workdir), ""


def server_argv(peer: Peer, *, port: int, token: str, extra: list[str] | None = None) -> list[str]:
    """Command line of the published server (stub backend) on 127.0.0.1:``port``."""
    return [
        str(peer.python), "-I", str(peer.launcher), "--listen", "127.0.0.1", "--port", str(port),
        "--token", token, "--accounts", "main=100001", "--access-log", *(extra or []),
    ]


def peer_env(history_delay: float = 0.0) -> dict[str, str]:
    """Environment of the peer process: no ``QMT_*``/``.env`` leakage from this shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QMT_", "BT_"))}
    env["BT_BENCH_HISTORY_DELAY"] = str(history_delay)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def main() -> int:
    peer, reason = ensure_peer(install=True, quiet=False)
    if peer is None:
        print(reason, file=sys.stderr)
        return 1
    print(f"peer ready: {PACKAGE} {peer.version} in {PEER_VENV}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
