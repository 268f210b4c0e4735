"""Native result objects of the fake (the ``xtpythonclient`` C++ objects of production).

They carry the snake_case attributes of ``shared/spec/xtquant.md`` section 2.5 and nothing
else; they are deliberately *not* ``xttype`` instances. Times are epoch **seconds**, volumes
shares, and ``price_type`` is the broker's echo (50 limit, 88 market).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bullet_trade.model.clock import CHINA_TZ
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import AccountSnapshot, Order, Position, Trade
from bullet_trade.testing.fake_xtquant import xtconstant as xc

ACCOUNT_TYPE = xc.SECURITY_ACCOUNT
PRICE_TYPE_ECHO = {OrderType.LIMIT: 50, OrderType.MARKET: 88}


class NativeObject:
    """An attribute bag standing in for a C++ result object."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:  # typing only: unknown names still raise
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<native {self.__dict__!r}>"


def epoch_s(dt: datetime) -> int:
    """Naive China time → epoch seconds."""
    return int(dt.replace(tzinfo=CHINA_TZ).timestamp())


def epoch_ms(dt: datetime) -> int:
    return epoch_s(dt) * 1000


def _sides(side: Side) -> dict[str, int]:
    buy = side is Side.BUY
    return {
        "order_type": xc.STOCK_BUY if buy else xc.STOCK_SELL,
        "direction": xc.DIRECTION_FLAG_LONG,
        "offset_flag": xc.OFFSET_FLAG_OPEN if buy else xc.OFFSET_FLAG_CLOSE,
    }


def order(account_id: str, xt_id: int, o: Order, *, remark: str, status: int) -> NativeObject:
    """An ``XtOrder`` from a simulator order snapshot."""
    return NativeObject(
        account_type=ACCOUNT_TYPE,
        account_id=account_id,
        stock_code=o.security.qmt,
        order_id=xt_id,
        order_sysid=f"S{xt_id:08d}",
        order_time=epoch_s(o.created_at),
        order_volume=o.amount,
        price_type=PRICE_TYPE_ECHO[o.order_type],
        price=float(o.order_price or 0.0),
        traded_volume=o.filled,
        traded_price=o.avg_fill_price,
        order_status=status,
        status_msg=o.status_msg,
        strategy_name=o.strategy_name,
        order_remark=remark,
        secu_account="A000000001" if o.security.exchange.value == "SH" else "0000000001",
        instrument_name="",
        **_sides(o.side),
    )


def trade(account_id: str, xt_id: int, t: Trade, *, remark: str, strategy: str) -> NativeObject:
    """An ``XtTrade``; ``commission`` carries every fee (there is no tax field)."""
    return NativeObject(
        account_type=ACCOUNT_TYPE,
        account_id=account_id,
        stock_code=t.security.qmt,
        traded_id=t.trade_id,
        traded_time=epoch_s(t.time),
        traded_price=t.price,
        traded_volume=t.amount,
        traded_amount=round(t.price * t.amount, 2),
        order_id=xt_id,
        order_sysid=f"S{xt_id:08d}",
        strategy_name=strategy,
        order_remark=remark,
        commission=round(t.commission + t.tax, 2),
        secu_account="",
        instrument_name="",
        **_sides(t.side),
    )


def asset(snapshot: AccountSnapshot) -> NativeObject:
    return NativeObject(
        account_type=ACCOUNT_TYPE,
        account_id=snapshot.account_id,
        cash=snapshot.available_cash,
        frozen_cash=snapshot.frozen_cash,
        market_value=snapshot.market_value,
        total_asset=snapshot.total_value,
        fetch_balance=snapshot.available_cash,
    )


def position(account_id: str, p: Position) -> NativeObject:
    profit = (p.last_price - p.avg_cost) / p.avg_cost if p.avg_cost else 0.0
    return NativeObject(
        account_type=ACCOUNT_TYPE,
        account_id=account_id,
        stock_code=p.security.qmt,
        volume=p.amount,
        can_use_volume=p.closeable_amount,
        open_price=p.avg_cost,
        avg_price=p.avg_cost,
        market_value=p.market_value,
        frozen_volume=p.frozen_amount,
        on_road_volume=0,
        yesterday_volume=p.closeable_amount + p.frozen_amount,
        last_price=p.last_price,
        profit_rate=round(profit, 6),
        direction=xc.DIRECTION_FLAG_LONG,
        secu_account="",
        instrument_name=p.name or "",
    )


def order_error(account_id: str, xt_id: int, seq: int, msg: str, remark: str) -> NativeObject:
    return NativeObject(
        account_type=ACCOUNT_TYPE,
        account_id=account_id,
        order_id=xt_id,
        error_id=-61,
        error_msg=msg,
        strategy_name="",
        order_remark=remark,
        seq=seq,
    )


def cancel_error(account_id: str, xt_id: int, seq: int, msg: str) -> NativeObject:
    return NativeObject(
        account_type=ACCOUNT_TYPE,
        account_id=account_id,
        order_id=xt_id,
        market=0,
        order_sysid="",
        error_id=-1,
        error_msg=msg,
        seq=seq,
    )
