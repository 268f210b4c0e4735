"""Load a strategy file as the module ``strategy`` with the JoinQuant API available.

The API names are injected as module globals *and* offered by a synthetic ``jqdata`` module,
so both bare use and ``from jqdata import *`` work. Both modules are (re)registered in
``sys.modules`` on every load; the last loaded strategy wins those names.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import threading
import types
from pathlib import Path
from typing import Any

from bullet_trade.live.dayplan import Hooks

# Installing ``jqdata`` and executing the file must not interleave with another load, or
# ``from jqdata import *`` could bind another run's ``g``.
_LOAD_LOCK = threading.Lock()

HOOK_NAMES = (
    "initialize",
    "process_initialize",
    "before_trading_start",
    "handle_data",
    "after_trading_end",
    "after_code_changed",
    "on_strategy_end",
    "handle_tick",
)


def install_jqdata(namespace: dict[str, Any]) -> types.ModuleType:
    """Register a fresh ``jqdata`` module exporting ``namespace``."""
    module = types.ModuleType("jqdata", "JoinQuant API provided by bullet-trade live")
    module.__dict__.update(namespace)
    module.__all__ = sorted(namespace)  # type: ignore[attr-defined]
    sys.modules["jqdata"] = module
    return module


def load_strategy(path: Path, namespace: dict[str, Any]) -> types.ModuleType:
    """Execute the strategy file and return its module.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        Exception: whatever the strategy's top-level code raises.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"strategy file not found: {path}")
    spec = importlib.util.spec_from_file_location("strategy", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(namespace)
    with _LOAD_LOCK:
        install_jqdata(namespace)
        sys.modules["strategy"] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop("strategy", None)
            raise
    return module


def find_hooks(module: types.ModuleType) -> Hooks:
    """The lifecycle functions the strategy defines.

    Raises:
        TypeError: a hook is not callable or is an ``async def`` (not supported).
    """
    found: dict[str, Any] = {}
    for name in HOOK_NAMES:
        func = getattr(module, name, None)
        if func is None:
            continue
        if not callable(func) or inspect.iscoroutinefunction(func):
            raise TypeError(f"{name} must be a plain function (async def is not supported)")
        found[name] = func
    return Hooks(**found)
