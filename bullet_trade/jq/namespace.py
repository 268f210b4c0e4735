"""The names a strategy sees as globals and through ``from jqdata import *``."""

from __future__ import annotations

import datetime
import math
import random
import time
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.jq import api, data, extras, objects, reference, tools
from bullet_trade.jq.log import log
from bullet_trade.model.enums import OrderStatus

_API_FUNCTIONS = (
    api.run_daily, api.run_weekly, api.run_monthly, api.unschedule_all,
    api.order, api.order_value, api.order_target, api.order_target_value,
    api.cancel_order, api.get_orders, api.get_open_orders, api.get_trades,
    api.set_benchmark, api.set_option, api.set_order_cost, api.set_commission,
    api.set_slippage, api.set_universe, api.record,
    data.get_price, data.attribute_history, data.history, data.get_current_data,
    data.get_trade_days, data.get_security_info,
    extras.order_percent, extras.order_target_percent, extras.subscribe, extras.unsubscribe,
    extras.unsubscribe_all, extras.send_msg, extras.set_message_handler,
    reference.get_bars, reference.get_all_securities, reference.get_index_stocks,
    reference.get_split_dividend,
    tools.get_current_tick, tools.print_portfolio_info, tools.prettytable_print_df,
    tools.read_file, tools.write_file,
)

_API_TYPES = (
    objects.MarketOrderStyle, objects.LimitOrderStyle, objects.OrderCost, objects.PerTrade,
    objects.FixedSlippage, objects.PriceRelatedSlippage, objects.StepRelatedSlippage,
    objects.Order, objects.Trade, objects.Tick,
)


def strategy_namespace(g: objects.GlobalBag) -> dict[str, Any]:
    """The API names bound for one run (``g`` is that run's bag)."""
    names: dict[str, Any] = {f.__name__: f for f in _API_FUNCTIONS}
    names.update({t.__name__: t for t in _API_TYPES})
    names.update(
        g=g, log=log, OrderStatus=OrderStatus,
        np=np, pd=pd, math=math, datetime=datetime, time=time, random=random,
        talib=tools.talib,
    )
    return names
