"""Fake ``xtquant.xttype``.

Only the classes the real library itself instantiates are built from here
(``StockAccount``, ``XtOrderResponse``, ``XtCancelOrderResponse``, ``XtAccountStatus``).
``XtOrder``, ``XtTrade``, ``XtAsset``, ``XtPosition``, ``XtOrderError`` and ``XtCancelError``
exist for reference, but the objects the fake returns and pushes are native attribute bags
(:mod:`.native`) that are *not* instances of them, exactly as in production.
"""

from __future__ import annotations

from typing import Any

from bullet_trade.testing.fake_xtquant import xtconstant


class StockAccount:
    """``StockAccount(account_id, account_type='STOCK')``; ``account_type`` becomes an int.

    As in the real class, a non-str id does not raise: ``__new__`` returns an error string.
    """

    account_id: str
    account_type: int

    def __new__(cls, account_id: Any, account_type: str = "STOCK") -> Any:
        if not isinstance(account_id, str):
            return "资金账号必须为字符串类型"
        return super().__new__(cls)

    def __init__(self, account_id: str, account_type: str = "STOCK") -> None:
        wanted = account_type.upper()
        for code, name in xtconstant.ACCOUNT_TYPE_DICT.items():
            if name == wanted:
                self.account_type = code
                break
        else:
            raise Exception(f"不支持的账号类型：{account_type}")  # the real message
        self.account_id = account_id


class _Record:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__!r})"


class XtOrderResponse(_Record):
    """``account_type account_id order_id strategy_name order_remark error_msg seq``."""


class XtCancelOrderResponse(_Record):
    """``account_type account_id cancel_result order_id order_sysid seq error_msg``."""


class XtAccountStatus(_Record):
    """``account_id account_type status``."""


class XtOrder(_Record):
    """Reference only: pushed orders are native objects, never instances of this."""


class XtTrade(_Record):
    """Reference only."""


class XtAsset(_Record):
    """Reference only."""


class XtPosition(_Record):
    """Reference only."""


class XtOrderError(_Record):
    """Reference only."""


class XtCancelError(_Record):
    """Reference only."""
