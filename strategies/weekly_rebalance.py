"""Weekly equal-weight rebalance with ``order_target_value`` (JoinQuant style).

On the first trading day of every week at 10:00, target the same value in each security:
90 % of the portfolio split evenly. Sells run before buys so the cash they free is available.
Each rebalance is logged in ``g.rebalances`` as ``(date, target value per security)``.
"""

from jqdata import *

POOL = ["510300.XSHG", "510500.XSHG", "000001.XSHE"]


def initialize(context):
    set_benchmark("000300.XSHG")
    g.rebalances = []
    run_weekly(rebalance, 1, time="10:00", reference_security="000300.XSHG")


def rebalance(context):
    target = round(context.portfolio.total_value * 0.9 / len(POOL), 2)
    current = get_current_data()
    values = {code: context.portfolio.positions[code].total_amount * current[code].last_price
              for code in POOL}
    for code in sorted(POOL, key=lambda c: values[c] - target, reverse=True):
        order_target_value(code, target)
    g.rebalances.append((str(context.current_dt.date()), target))
    log.info("rebalanced to %.2f each", target)
