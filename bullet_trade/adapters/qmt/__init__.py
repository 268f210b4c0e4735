"""miniQMT backend over xtquant: ``QmtDataAdapter`` (xtdata) and ``QmtBrokerAdapter``
(xttrader).

Modules: ``sdk`` (importing xtquant with an actionable error), ``worker`` (serialising xtdata
thread with per-call timeouts), ``trader_thread`` (the trader on its own thread, callbacks
marshalled to the loop), ``guard`` (link state, reconnect backoff), ``convert`` (native objects
→ records), ``orders`` (remark token, pre-checks), ``data`` and ``broker`` (the adapters).
"""

from __future__ import annotations

from collections.abc import Sequence

from bullet_trade.adapters.qmt.broker import QmtBrokerAdapter
from bullet_trade.adapters.qmt.data import QmtDataAdapter
from bullet_trade.adapters.qmt.guard import Backoff
from bullet_trade.adapters.qmt.sdk import XtSdk, load_sdk
from bullet_trade.model.clock import Clock
from bullet_trade.model.records import AccountConfig

__all__ = ["Backoff", "QmtBrokerAdapter", "QmtDataAdapter", "XtSdk", "build_qmt_backend"]


def build_qmt_backend(
    accounts: Sequence[AccountConfig],
    *,
    data_path: str | None,
    clock: Clock,
    sdk: XtSdk | None = None,
    backoff: Backoff | None = None,
    call_timeout: float = 10.0,
) -> tuple[QmtDataAdapter, QmtBrokerAdapter]:
    """Both adapters over one SDK.

    Raises:
        BackendUnavailable: xtquant cannot be imported (message says what to do).
    """
    sdk = sdk or load_sdk()
    data = QmtDataAdapter(clock=clock, sdk=sdk, call_timeout=call_timeout)
    broker = QmtBrokerAdapter(
        accounts, data_path=data_path, sdk=sdk, backoff=backoff, call_timeout=call_timeout,
        clock=clock,
    )
    return data, broker
