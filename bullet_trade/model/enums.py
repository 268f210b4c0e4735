"""Enumerations shared by every layer: sides, order styles, statuses and xtquant raw codes."""

from __future__ import annotations

import enum


class Side(str, enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @classmethod
    def parse(cls, value: object) -> Side:
        """Case-insensitive; raises ValueError for anything but buy/sell."""
        if isinstance(value, Side):
            return value
        if isinstance(value, str) and value.strip().upper() in ("BUY", "SELL"):
            return cls(value.strip().upper())
        raise ValueError(f"side must be BUY or SELL, got {value!r}")


class OrderType(str, enum.Enum):
    LIMIT = "limit"
    MARKET = "market"


class OrderStatus(str, enum.Enum):
    """The one status vocabulary on the wire (v1 qmt vocabulary, see protocol.md 5.5)."""

    NEW = "new"
    SUBMITTED = "submitted"
    OPEN = "open"
    FILLING = "filling"
    CANCELING = "canceling"
    FILLED = "filled"
    CANCELED = "canceled"
    PARTLY_CANCELED = "partly_canceled"
    REJECTED = "rejected"
    SUBMIT_UNKNOWN = "submit_unknown"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        return not self.is_terminal and self is not OrderStatus.SUBMIT_UNKNOWN

    @classmethod
    def parse(cls, value: object) -> OrderStatus:
        """Accept our vocabulary plus the spellings other backends used (``cancelled``...)."""
        if isinstance(value, OrderStatus):
            return value
        text = str(value).strip().lower()
        text = _ALIASES.get(text, text)
        return cls(text)


_TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.PARTLY_CANCELED,
        OrderStatus.REJECTED,
    }
)

_ALIASES = {
    "cancelled": "canceled",
    "partly_cancelled": "partly_canceled",
    "partly_filled": "filling",
    "partly_canceling": "canceling",
    "failed": "rejected",
    "error": "rejected",
}


class XtOrderStatus(enum.IntEnum):
    """xtquant ``xtconstant`` order status codes."""

    UNREPORTED = 48
    WAIT_REPORTING = 49
    REPORTED = 50
    REPORTED_CANCEL = 51
    PARTSUCC_CANCEL = 52
    PART_CANCEL = 53
    CANCELED = 54
    PART_SUCC = 55
    SUCCEEDED = 56
    JUNK = 57
    UNKNOWN = 255


# 52 (partly filled, cancel pending) is NOT terminal; the published server got this wrong (W-O7).
XT_STATUS_MAP: dict[int, OrderStatus] = {
    48: OrderStatus.NEW,
    49: OrderStatus.NEW,
    50: OrderStatus.OPEN,
    51: OrderStatus.CANCELING,
    52: OrderStatus.CANCELING,
    53: OrderStatus.PARTLY_CANCELED,
    54: OrderStatus.CANCELED,
    55: OrderStatus.FILLING,
    56: OrderStatus.FILLED,
    57: OrderStatus.REJECTED,
    255: OrderStatus.NEW,
}


def status_from_xt(raw: int) -> OrderStatus:
    """Map an xtquant status integer; unknown codes are treated as still open."""
    return XT_STATUS_MAP.get(int(raw), OrderStatus.OPEN)


# xtquant order_type values
XT_STOCK_BUY = 23
XT_STOCK_SELL = 24
# price_type values echoed back on XtOrder (broker enum, not the request enum)
XT_PRICE_TYPE_LIMIT_ECHO = 50
XT_PRICE_TYPE_MARKET_ECHO = 88
