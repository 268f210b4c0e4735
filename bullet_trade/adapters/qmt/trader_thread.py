"""One ``XtQuantTrader`` living on its own thread, and the callback bridge to the event loop.

``XtQuantTrader.__init__`` replaces the calling thread's asyncio event loop, so the object is
built, and every method is called, on a dedicated single-thread executor, never on the loop
thread. xtquant invokes callbacks on its own single worker thread; :class:`CallbackBridge`
copies each native object into a plain dict there (:func:`.convert.attrs`) and hands it to the
loop with ``call_soon_threadsafe``, preserving order. Nothing is ever queried synchronously
from the callback thread (that deadlocks in xtquant).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from bullet_trade.adapters.qmt.convert import attrs
from bullet_trade.adapters.qmt.sdk import XtSdk
from bullet_trade.errors import BackendUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sink = Callable[[str, dict[str, Any]], None]

CALLBACKS = (
    "on_disconnected",
    "on_account_status",
    "on_stock_asset",
    "on_stock_order",
    "on_stock_trade",
    "on_stock_position",
    "on_order_error",
    "on_cancel_error",
    "on_order_stock_async_response",
    "on_cancel_order_stock_async_response",
)


class CallTimedOut(BackendUnavailable):
    """A trader call ran past the timeout; it may still be running (and take effect) on the
    trader thread. For a request that sends something, the outcome is unknown."""


class CallbackBridge:
    """An ``XtQuantTraderCallback`` look-alike forwarding every callback to ``sink`` on
    ``loop`` as ``(callback name, attribute dict)``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sink: Sink) -> None:
        self._loop = loop
        self._sink = sink
        for name in CALLBACKS:
            setattr(self, name, self._forwarder(name))

    def _forwarder(self, name: str) -> Callable[..., None]:
        def forward(obj: Any = None) -> None:
            try:
                self._loop.call_soon_threadsafe(self._sink, name, attrs(obj))
            except Exception:  # thread boundary: a closed loop must not kill xtquant's thread
                logger.exception("dropping xttrader callback %s", name)

        return forward


class TraderThread:
    """Owns one ``XtQuantTrader(path, session_id)`` on a dedicated thread.

    Args:
        sdk: the xtquant modules.
        path: miniQMT ``userdata_mini`` directory.
        session_id: unique per connection (a fresh one for every reconnect).
        callback: the :class:`CallbackBridge`.
        timeout: seconds any trader call may take (also set as xtquant's own sync timeout).
    """

    def __init__(
        self, sdk: XtSdk, path: str, session_id: int, callback: Any, timeout: float
    ) -> None:
        self.session_id = session_id
        self._sdk = sdk
        self._path = path
        self._callback = callback
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"qmt-trader-{session_id}")
        self._trader: Any = None

    async def open(self) -> int:
        """Build, start and connect the trader; returns ``connect()``'s code (0 = ok)."""

        def build() -> int:
            trader = self._sdk.xttrader.XtQuantTrader(self._path, self.session_id)
            trader.register_callback(self._callback)
            trader.set_timeout(int(self._timeout * 1000))
            trader.start()
            self._trader = trader
            rc = trader.connect()
            return 0 if rc is None else int(rc)

        return await self._submit(build, "connect")

    async def call(self, fn: Callable[[Any], T], what: str) -> T:
        """Run ``fn(trader)`` on the trader thread, within the timeout.

        Raises:
            BackendUnavailable: the trader is not open (``fn`` was not run).
            CallTimedOut: the call timed out (``fn`` may still complete).
        """
        if self._trader is None:
            raise BackendUnavailable("the miniQMT trader is not connected")
        trader = self._trader
        return await self._submit(lambda: fn(trader), what)

    async def _submit(self, fn: Callable[[], T], what: str) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, fn), self._timeout
            )
        except asyncio.TimeoutError:
            raise CallTimedOut(
                f"xttrader {what} did not answer within {self._timeout:g}s"
            ) from None

    async def close(self) -> None:
        """Stop the trader (best effort) and release the thread.

        The stop runs as a job on the trader's own single-worker thread, so it also stops a
        trader whose :meth:`open` is still running (e.g. the caller was cancelled mid-open).
        """

        def stop() -> None:
            trader, self._trader = self._trader, None
            if trader is not None:
                trader.stop()

        try:
            await self._submit(stop, "stop")
        except Exception:  # shutting down: log and carry on
            logger.exception("XtQuantTrader.stop failed (session %s)", self.session_id)
        self._executor.shutdown(wait=False)
