"""Market-data records: quotes, static security descriptions and dividend events.

Each knows its v1 wire shape (``*_wire`` / ``to_wire``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bullet_trade.model.codes import Security

WIRE_DATETIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """Current market state of one security (snapshot / live_current / tick)."""

    security: Security
    last_price: float
    dt: datetime
    high_limit: float
    low_limit: float
    pre_close: float
    day_open: float
    high: float
    low: float
    volume: int = 0
    money: float = 0.0
    paused: bool = False
    name: str | None = None
    is_st: bool = False
    bids: tuple[tuple[float, int], ...] = field(default=())
    asks: tuple[tuple[float, int], ...] = field(default=())

    def snapshot_wire(self) -> dict[str, Any]:
        """v1 ``data.snapshot`` payload."""
        return {
            "sid": self.security.jq,
            "last_price": self.last_price,
            "dt": self.dt.strftime(WIRE_DATETIME),
        }

    def live_current_wire(self) -> dict[str, Any]:
        """v1 ``data.live_current`` payload (plus JoinQuant current-data extras)."""
        return {
            "last_price": self.last_price,
            "high_limit": self.high_limit,
            "low_limit": self.low_limit,
            "paused": self.paused,
            "is_st": self.is_st,
            "day_open": self.day_open,
            "pre_close": self.pre_close,
            "high": self.high,
            "low": self.low,
            "volume": self.volume,
            "money": self.money,
            "name": self.name,
            "dt": self.dt.strftime(WIRE_DATETIME),
        }

    def tick_wire(self) -> dict[str, Any]:
        """Payload of a pushed ``tick`` event (``symbol`` is added by the server)."""
        return {
            **self.snapshot_wire(),
            "time": self.dt.strftime(WIRE_DATETIME),
            "volume": self.volume,
            "high_limit": self.high_limit,
            "low_limit": self.low_limit,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityInfo:
    """Static description of an instrument (``data.security_info``)."""

    security: Security
    display_name: str
    type: str  # stock | etf | index | fund | lof | bond
    start_date: date | None = None
    end_date: date | None = None
    subtype: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "code": self.security.jq,
            "qmt_code": self.security.qmt,
            "display_name": self.display_name,
            "name": self.security.symbol,
            "type": self.type,
            "subtype": self.subtype,
            "parent": None,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": (self.end_date or date(2200, 1, 1)).isoformat(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DividendEvent:
    """An ex-dividend / split event (``data.get_split_dividend``).

    Attributes:
        security: the stock or fund.
        ex_date: the ex-rights / ex-dividend date.
        security_type: ``stock`` or ``fund``.
        scale_factor: shares held after the event per share held before (1 + bonus and
            transferred shares per share); 1.0 for a cash-only event.
        bonus_pre_tax: cash paid per ``per_base`` shares, pre-tax (CNY).
        per_base: 10 for stocks, 1 for funds (the v1 convention).

    Raises:
        ValueError: (on construction) a non-finite or negative amount, a scale factor below
            1, or a non-positive ``per_base``.
    """

    security: Security
    ex_date: date
    security_type: str
    scale_factor: float
    bonus_pre_tax: float
    per_base: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale_factor) and self.scale_factor >= 1.0):
            raise ValueError("scale_factor must be a finite number >= 1")
        if not (math.isfinite(self.bonus_pre_tax) and self.bonus_pre_tax >= 0.0):
            raise ValueError("bonus_pre_tax must be a finite non-negative number")
        if self.per_base <= 0:
            raise ValueError("per_base must be positive")

    @property
    def cash_per_share(self) -> float:
        """Cash paid per share held, pre-tax (CNY)."""
        return self.bonus_pre_tax / self.per_base

    def to_wire(self) -> dict[str, Any]:
        """v1 ``data.get_split_dividend`` row."""
        return {
            "security": self.security.jq,
            "date": self.ex_date.isoformat(),
            "security_type": self.security_type,
            "scale_factor": self.scale_factor,
            "bonus_pre_tax": self.bonus_pre_tax,
            "per_base": self.per_base,
        }
