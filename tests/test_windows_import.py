"""Windows readiness (CI-able on Linux): every bullet_trade module byte-compiles and imports
with ``sys.platform`` patched to ``win32``.

The import runs in a fresh interpreter so modules see the patched platform at import time.
The standard library's platform-specific modules (asyncio's event loops, subprocess) and the
third-party dependencies are imported *before* the patch: they would try to load Windows-only
C extensions otherwise. Our own modules must therefore not import Windows-only modules
(``msvcrt``, ``winreg``) at module level, only inside the functions that need them.
"""

from __future__ import annotations

import py_compile
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bullet_trade"

_SCRIPT = r"""
import asyncio, subprocess, signal, socket, ssl, pathlib, os, threading, sqlite3
import importlib, pkgutil, sys
# third-party dependencies pick their platform code at import: load them for this machine
import click, click.testing, rich.console, rich.table, pandas, numpy, orjson, dotenv
import exchange_calendars, cryptography.x509
sys.platform = "win32"
import bullet_trade
failed = []
for info in pkgutil.walk_packages(bullet_trade.__path__, "bullet_trade."):
    if info.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_byte_compiles(tmp_path: Path) -> None:
    for source in sorted(PACKAGE.rglob("*.py")):
        py_compile.compile(str(source), cfile=str(tmp_path / "out.pyc"), doraise=True)


def test_every_module_imports_as_if_on_windows() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
