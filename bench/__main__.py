"""``python -m bench``: run every figure, print one Markdown table.

Options: ``--quick`` (CI smoke sizes), ``--only small,orders,...`` (a subset),
``--no-peer`` (skip the published server), ``--no-install`` (use the peer venv only if it
already exists). The table is also written to ``bench/results/latest.md`` with the machine
description; server logs land in ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.peer import ensure_peer
from bench.stats import Report, Row, markdown
from bench.targets import BenchContext

RESULTS = Path(__file__).resolve().parent / "results"

#: Figure name → module. ``sim`` is optional (another module owns it): included when present.
FIGURES: dict[str, str] = {
    "small": "bench.fig_small",
    "orders": "bench.fig_orders",
    "hol": "bench.fig_hol",
    "ticks": "bench.fig_ticks",
    "history": "bench.fig_history",
    "conns": "bench.fig_conns",
    "sim": "bench.sim_bench",
}

#: Seconds a script-style figure (no ``run(ctx)``) may take.
SCRIPT_TIMEOUT = 100.0

FigureRun = Callable[[BenchContext], Coroutine[Any, Any, Report]]


def machine() -> str:
    """One line describing where the figures were taken."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI smoke sizes")
    parser.add_argument("--only", default="", help="comma-separated figures: " + ",".join(FIGURES))
    parser.add_argument("--no-peer", action="store_true", help="skip the published server")
    parser.add_argument("--no-install", action="store_true", help="do not create the peer venv")
    return parser.parse_args(argv)


def _context(args: argparse.Namespace) -> BenchContext:
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.no_peer:
        return BenchContext(quick=args.quick, results=RESULTS, peer=None,
                            peer_reason="peer skipped (--no-peer)")
    peer, reason = ensure_peer(install=not args.no_install)
    return BenchContext(quick=args.quick, results=RESULTS, peer=peer, peer_reason=reason)


async def _run_figures(ctx: BenchContext, names: list[str]) -> Report:
    report = Report()
    for name in names:
        module_name = FIGURES[name]
        if importlib.util.find_spec(module_name) is None:
            continue  # optional figure not present
        module = importlib.import_module(module_name)
        started = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            if hasattr(module, "run"):
                report.extend(await module.run(ctx))
            else:
                report.extend(await _script_figure(name, module_name, ctx))
        except Exception as exc:  # a broken figure must not hide the others
            traceback.print_exc()
            report.note(f"figure {name} failed: {type(exc).__name__}: {exc}")
        print(f"[bench] {name} done in {time.monotonic() - started:.1f}s", file=sys.stderr,
              flush=True)
    return report


async def _script_figure(name: str, module_name: str, ctx: BenchContext) -> Report:
    """A figure module without ``run(ctx)`` (e.g. ``bench.sim_bench``): run it as
    ``python -m <module>`` with a time limit; each line it prints becomes a row."""
    report = Report()
    if ctx.quick:
        report.note(f"{name}: skipped in quick mode")
        return report
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module_name, cwd=RESULTS.parent.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), SCRIPT_TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        report.note(f"{name}: stopped after {SCRIPT_TIMEOUT:g} s")
        return report
    for line in out.decode(errors="replace").splitlines():
        if ":" in line and line.strip():
            metric, value = line.split(":", 1)
            report.add(Row(name, metric.strip(), value.strip()))
    if proc.returncode:
        report.note(f"{name}: exit status {proc.returncode}")
    return report


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        print(f"unknown figure(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    ctx = _context(args)
    report = asyncio.run(_run_figures(ctx, names))
    if ctx.peer is None:
        report.notes.insert(0, ctx.peer_reason or "peer unavailable")
    else:
        report.notes.insert(0, f"published = bullet-trade {ctx.peer.version} from PyPI "
                               "(stub backend), in its own venv")
    elapsed = time.monotonic() - started
    header = (f"Run {datetime.now():%Y-%m-%d %H:%M}, {'quick' if args.quick else 'full'} mode, "
              f"{elapsed:.0f} s, on {machine()}.")
    text = header + "\n\n" + markdown(report) + "\n"
    print(text)
    (RESULTS / ("latest-quick.md" if args.quick else "latest.md")).write_text(text)
    return 0


def run_single(run: FigureRun, argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.fig_x`` (one figure, same options)."""
    args = _parse(argv)
    ctx = _context(args)
    report = asyncio.run(run(ctx))
    print(markdown(report))


if __name__ == "__main__":
    sys.exit(main())
