"""Buy and hold an ETF (JoinQuant style). Runs unchanged on sim, qmt and qmt-remote.

On the first trading day at 10:00, put half of the portfolio into the CSI 300 ETF with
``order_percent``; afterwards only report the holding after the close. The flag lives in ``g``,
so a restarted strategy does not buy a second time.
"""

from jqdata import *


def initialize(context):
    set_benchmark("000300.XSHG")
    set_option("use_real_price", True)
    g.security = "510300.XSHG"
    g.bought = False
    run_daily(market_open, time="10:00", reference_security="000300.XSHG")


def market_open(context):
    if g.bought:
        return
    placed = order_percent(g.security, 0.5)
    if placed is not None and placed.status.value != "rejected":
        g.bought = True
        log.info("bought %s: %s", g.security, placed)


def after_trading_end(context):
    position = context.portfolio.positions[g.security]
    log.info("%s: %d shares, value %.2f; total %.2f (start %.2f)", g.security,
             position.total_amount, position.value, context.portfolio.total_value,
             context.portfolio.starting_cash)
