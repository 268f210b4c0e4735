"""bullet-trade demo strategy (JoinQuant style). Runs unchanged on sim, qmt and qmt-remote.

Every trading day:
  09:30  buy 100 shares of 000001.XSHE (market order, protective price)
         buy 100 shares of 510300.XSHG (limit order slightly above the last price)
  10:00  buy about 5000 CNY of 518880.XSHG (gold ETF)
  14:50  sell 100 shares of 000001.XSHE bought on an earlier day (T+1: only if closeable)
  after the close: log cash, total value and every position

Amounts are small and fixed on purpose: this is a demo of the plumbing, not a strategy.
"""

from jqdata import *

STOCK = "000001.XSHE"
ETF = "510300.XSHG"
GOLD = "518880.XSHG"


def initialize(context):
    set_benchmark("000300.XSHG")
    set_option("use_real_price", True)
    set_order_cost(
        OrderCost(close_tax=0.0005, open_commission=0.00025, close_commission=0.00025,
                  min_commission=5),
        type="stock",
    )
    g.days_run = 0
    g.order_ids = []
    run_daily(buy_at_open, time="open")
    run_daily(buy_gold, time="10:00")
    run_daily(trim_old_shares, time="14:50")


def before_trading_start(context):
    g.days_run += 1
    log.info("day %d starts; previous trading day %s", g.days_run, context.previous_date)


def _remember(placed):
    if placed is not None:
        g.order_ids.append(placed.order_id)
        log.info("order %s", placed)


def buy_at_open(context):
    _remember(order(STOCK, 100))
    etf = get_current_data()[ETF]
    if etf.paused or etf.last_price <= 0:
        log.warn("%s has no price now, no limit order", ETF)
        return
    _remember(order(ETF, 100, LimitOrderStyle(round(etf.last_price * 1.002, 3))))


def buy_gold(context):
    _remember(order_value(GOLD, 5000))


def trim_old_shares(context):
    position = context.portfolio.positions[STOCK]
    if position.closeable_amount >= 100:
        _remember(order(STOCK, -100))
    else:
        log.info("nothing of %s bought on an earlier day to sell (closeable %d of %d)",
                 STOCK, position.closeable_amount, position.total_amount)


def after_trading_end(context):
    portfolio = context.portfolio
    log.info("cash %.2f, total value %.2f, positions value %.2f",
             portfolio.available_cash, portfolio.total_value, portfolio.positions_value)
    for code, position in portfolio.positions.items():
        log.info("  %s: %d shares (%d closeable), avg cost %.3f, price %.3f, value %.2f",
                 code, position.total_amount, position.closeable_amount, position.avg_cost,
                 position.price, position.value)
