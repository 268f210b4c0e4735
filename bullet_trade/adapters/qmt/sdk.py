"""Loading the xtquant SDK (the real one on Windows, or the fake when installed)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from bullet_trade.errors import BackendUnavailable

MISSING_SDK = (
    "the xtquant SDK cannot be imported ({error}). On the Windows machine running miniQMT "
    "install it with `pip install xtquant` into the same Python as bullet-trade; on any other "
    "machine use --server-type sim (or BT_FAKE_XTQUANT=1 for the built-in fake)"
)


@dataclass(frozen=True, slots=True)
class XtSdk:
    """The four xtquant modules the adapters use."""

    xtdata: Any
    xttrader: Any
    xttype: Any
    xtconstant: Any


def load_sdk() -> XtSdk:
    """Import ``xtquant.xtdata``, ``xttrader``, ``xttype`` and ``xtconstant``.

    Raises:
        BackendUnavailable: an import failed; the message says what to install or use.
    """
    try:
        modules = [
            importlib.import_module(f"xtquant.{name}")
            for name in ("xtdata", "xttrader", "xttype", "xtconstant")
        ]
    except ImportError as exc:
        raise BackendUnavailable(MISSING_SDK.format(error=exc)) from None
    return XtSdk(*modules)
