# -*- coding: utf-8 -*-
"""Example JoinQuant strategy (聚宽模拟盘) that trades through bullet-trade server.

1. Run ``bullet-trade helper export`` and upload ``bullet_trade_jq_remote_helper.py`` to the root
   of your JoinQuant research space (研究根目录).
2. Paste this file into a new JoinQuant strategy, fill in the config block below.
3. Start a *simulated trading* (模拟交易) run. In a backtest the remote calls are skipped on
   purpose: a backtest must never send real orders.

Every job catches the helper's errors, so a rejected order or an unreachable server is logged and
the strategy keeps running. An order whose outcome is unknown (SUBMIT_UNKNOWN) is looked up by its
idempotency key instead of being sent again.
"""

# ruff: noqa: F405
import bullet_trade_jq_remote_helper as bt
from jqdata import *  # noqa: F403  (JoinQuant API: g, log, run_daily, set_option, ...)

# ---- config block: fill in ----------------------------------------------------------------
BT_HOST = "your.server.example"  # public IP / domain of the Windows box (or its port forward)
BT_PORT = 58620
BT_TOKEN = "change-me"  # the server's token; use one made for this strategy only
BT_ACCOUNT_KEY = None  # e.g. "main"; None = the server's first account
BT_TLS_FINGERPRINT = None  # "AB:CD:..." SHA-256 of the server certificate (recommended)
BT_TLS_CERT = None  # or a CA file uploaded next to the helper, e.g. "server-ca.pem"

WAIT_SECONDS = 10  # how long the limit order waits on the server for a fill before the cancel

STOCK = "000001.XSHE"  # 平安银行
ETF = "510300.XSHG"  # 沪深300ETF


def process_initialize(context):
    # runs on every (re)start of the simulation, so the connection settings are always fresh
    g.remote_enabled = _is_sim_trade(context)
    if not g.remote_enabled:
        log.info("bullet-trade: not a sim_trade run, remote trading disabled")
        return
    bt.configure(BT_HOST, BT_TOKEN, port=BT_PORT, account_key=BT_ACCOUNT_KEY,
                 tls_fingerprint=BT_TLS_FINGERPRINT, tls_cert=BT_TLS_CERT)


def initialize(context):
    set_benchmark("000300.XSHG")
    set_option("use_real_price", True)
    g.pending_keys = []  # idempotency keys of orders whose outcome is unknown
    run_daily(show_account, time="09:35")
    run_daily(limit_buy_then_cancel, time="09:36")
    run_daily(buy_etf, time="09:37")
    run_daily(check_open_orders, time="09:38")
    run_daily(resolve_unknown_orders, time="09:39")
    run_daily(trim_etf, time="14:50")


def _is_sim_trade(context):
    params = getattr(context, "run_params", None)
    return getattr(params, "type", None) == "sim_trade"


def _remote(job):
    """Run a job only in sim_trade, and log (not raise) the helper's errors."""

    def wrapper(context):
        if not getattr(g, "remote_enabled", False):
            return
        try:
            job(context)
        except bt.SubmitUnknownError as err:
            log.warn("order outcome unknown, key=%s: %s" % (err.idempotency_key, err))
            g.pending_keys.append(err.idempotency_key)
        except bt.RemoteError as err:
            log.warn("bullet-trade %s failed: code=%s %s" % (job.__name__, err.code, err.message))

    wrapper.__name__ = job.__name__
    return wrapper


@_remote
def show_account(context):
    account = bt.get_account()
    log.info("cash=%.2f total=%.2f" % (account.available_cash, account.total_value))
    for pos in bt.get_positions():
        log.info("  %s amount=%d closeable=%d cost=%.3f" % (
            pos.security, pos.amount, pos.available, pos.avg_cost))


@_remote
def limit_buy_then_cancel(context):
    last = bt.get_last_price(STOCK)
    price = round(last * 0.99, 2)  # below the market: stays open
    order_id = bt.order(STOCK, 100, price=price, wait_timeout=WAIT_SECONDS)
    log.info("limit buy %s 100 @ %.2f -> %s" % (STOCK, price, order_id))
    status = bt.get_order_status(order_id)
    if status.get("status") in bt.OPEN_STATUSES:
        reply = bt.cancel_order(order_id)
        log.info("cancel %s accepted=%s status=%s" % (
            order_id, reply.get("value"), reply.get("status")))


@_remote
def buy_etf(context):
    order_id = bt.order_value(ETF, 10000)  # market order, rounded down to whole lots
    log.info("market buy %s for 10000 -> %s" % (ETF, order_id or "nothing to buy"))


@_remote
def check_open_orders(context):
    # get_open_orders() returns {order_id: RemoteOrder}: iterate the values, not the keys
    for order in bt.get_open_orders().values():
        log.info("open order %s %s %d/%d status=%s" % (
            order.order_id, order.security, order.filled, order.amount, order.status))


@_remote
def resolve_unknown_orders(context):
    still_unknown = []
    for key in g.pending_keys:
        status = bt.get_order_status(idempotency_key=key)
        if status:
            log.info("order with key %s is %s (id %s)" % (
                key, status.get("status"), status.get("order_id")))
        else:
            still_unknown.append(key)  # not found yet: ask again later, never re-send blindly
    g.pending_keys = still_unknown


@_remote
def trim_etf(context):
    # sells only what is closeable today (T+1): yesterday's purchase
    order_id = bt.order_target(ETF, 0)
    log.info("sell closeable %s -> %s" % (ETF, order_id or "nothing closeable"))
