"""Moving-average crossover on a few stocks (JoinQuant style).

Every trading day at 10:00, for each stock: the 5-day average of daily closes above the 20-day
average means "hold" (buy 10 % of the portfolio if not held), below means "flat" (sell what can
be sold today, T+1). Every decision is appended to ``g.signals`` as
``(date, code, ma5, ma20, action)`` so a run can be checked afterwards.
"""

from jqdata import *

STOCKS = ["000001.XSHE", "600036.XSHG", "000858.XSHE"]


def initialize(context):
    set_benchmark("000300.XSHG")
    set_universe(STOCKS)
    g.signals = []
    run_daily(trade, time="10:00")


def _averages(code):
    closes = attribute_history(code, 20, "1d", ["close"], df=False)["close"]
    if len(closes) < 20:
        return None
    return float(closes[-5:].mean()), float(closes.mean())


def trade(context):
    current = get_current_data()
    for code in STOCKS:
        if current[code].paused:
            continue
        averages = _averages(code)
        if averages is None:
            continue
        ma5, ma20 = averages
        held = context.portfolio.positions[code]
        action = "none"
        if ma5 > ma20 and held.total_amount == 0:
            action = "buy"
            order_percent(code, 0.1)
        elif ma5 < ma20 and held.closeable_amount > 0:
            action = "sell"
            order_target(code, 0)
        g.signals.append((str(context.current_dt.date()), code, round(ma5, 4), round(ma20, 4),
                          action))
