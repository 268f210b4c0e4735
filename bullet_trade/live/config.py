"""Knobs of the live runner (frozen; built by the CLI, defaults suit real trading)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import time

from bullet_trade.live.risk import RiskLimits

DEFAULT_SESSIONS: tuple[tuple[time, time], ...] = (
    (time(9, 30), time(11, 30)),
    (time(13, 0), time(15, 0)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveConfig:
    """Live runner settings.

    Attributes:
        sessions: continuous-trading sessions, ascending (default 09:30–11:30, 13:00–15:00).
            ``open`` is the first start, ``close`` the last end, ``every_bar`` the minute
            starts inside them.
        before_trading_start: time expression of the ``before_trading_start`` hook.
        after_trading_end: time expression of the ``after_trading_end`` hook (JoinQuant: 15:30).
        call_timeout: seconds a synchronous API call from the strategy thread (``order``,
            ``get_price``, ``context.portfolio``) may wait for the event loop.
        max_lateness: seconds a due moment may be late and still run; later moments are
            skipped with a warning (a job ran too long, the machine slept).
        strategy_name: sent to the broker with every order.
        g_file: name of the ``g`` pickle inside the runtime directory.
        state_file: name of the run state (``live_state.json``) inside the runtime directory.
        trade_max_wait: seconds ``order()`` waits for a final status after submission
            (``TRADE_MAX_WAIT_TIME``); 0 returns at once, the ``Order`` is updated in place.
        order_poll_interval: while ``order()`` waits (``trade_max_wait``), broker events end
            the wait at once; the order is also re-read every this many seconds, for backends
            that push no events (a v1 server). 0: re-read only once, at the deadline.
        portfolio_max_age: seconds (clock time) after which ``context.portfolio`` is read
            from the broker again even without a broker event.
        max_subscriptions: tick subscription limit of one strategy.
        risk: optional local pre-trade limits (:mod:`bullet_trade.live.risk`); all off by
            default.
    """

    sessions: tuple[tuple[time, time], ...] = DEFAULT_SESSIONS
    before_trading_start: str = "open-30m"
    after_trading_end: str = "close+30m"
    call_timeout: float = 60.0
    max_lateness: float = 60.0
    strategy_name: str = "bullet-trade"
    g_file: str = "g.pkl"
    state_file: str = "live_state.json"
    trade_max_wait: float = 0.0
    order_poll_interval: float = 2.0
    portfolio_max_age: float = 60.0
    max_subscriptions: int = 100
    risk: RiskLimits = field(default_factory=RiskLimits)

    def __post_init__(self) -> None:
        if not self.sessions:
            raise ValueError("at least one trading session is required")
        previous_end: time | None = None
        for start, end in self.sessions:
            if not start < end or (previous_end is not None and start < previous_end):
                raise ValueError(f"sessions must be ascending and non-overlapping: {self.sessions}")
            previous_end = end
        for name in ("call_timeout", "max_lateness", "portfolio_max_age"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not (math.isfinite(self.trade_max_wait) and self.trade_max_wait >= 0):
            raise ValueError(f"trade_max_wait must be >= 0, got {self.trade_max_wait!r}")
        if not (math.isfinite(self.order_poll_interval) and self.order_poll_interval >= 0):
            raise ValueError(f"order_poll_interval must be >= 0, got {self.order_poll_interval!r}")
        if self.max_subscriptions < 1:
            raise ValueError("max_subscriptions must be at least 1")

    @property
    def open_time(self) -> time:
        return self.sessions[0][0]

    @property
    def close_time(self) -> time:
        return self.sessions[-1][1]
