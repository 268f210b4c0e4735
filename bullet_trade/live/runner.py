"""The live loop: load the strategy, then run each trading day's moments in order.

Start-up: load the strategy (module ``strategy``), fetch the account, run ``initialize``
(on every start: it registers the jobs), restore ``g`` from ``<runtime_dir>/g.pkl`` over what
``initialize`` set, run ``process_initialize``. Then, per trading day (from the data
provider's calendar): compute the day's moments, ``await clock.sleep_until`` each one, run
its callbacks one after another on the strategy thread, save ``g``. Moments that passed
before start-up are not replayed (``before_trading_start`` is caught up once if the session
has not closed yet); moments later than ``LiveConfig.max_lateness`` are skipped with a warning.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.jq.binding import CURRENT_SESSION
from bullet_trade.jq.data import CurrentData
from bullet_trade.jq.namespace import strategy_namespace
from bullet_trade.jq.objects import Order
from bullet_trade.live.config import LiveConfig
from bullet_trade.live.dayplan import Due, Hooks, build_day_plan, next_batch
from bullet_trade.live.loader import find_hooks, load_strategy
from bullet_trade.live.schedule import build_period, period_bounds
from bullet_trade.live.session import LiveSession
from bullet_trade.live.trading import refresh_orders
from bullet_trade.model.clock import Clock, SteppedClock
from bullet_trade.model.records import AccountSnapshot

log = logging.getLogger(__name__)

_CALENDAR_LOOKAHEAD = timedelta(days=31)
_CALENDAR_HORIZON = timedelta(days=400)


@dataclass(frozen=True)
class LiveResult:
    """What a run did.

    Attributes:
        orders: every order the strategy placed (including refused ones), in placement order,
            with the status last reported by the broker.
        account: the account snapshot at the end of the run.
        trading_days: the trading days that were run (fully or partly).
        callbacks_run / callback_errors: strategy callbacks executed / that raised.
        skipped_moments: due moments not run because they were too late.
        stop_reason: ``until`` or ``max_days``.
    """

    orders: tuple[Order, ...]
    account: AccountSnapshot
    trading_days: tuple[date, ...]
    callbacks_run: int
    callback_errors: int
    skipped_moments: int
    stop_reason: str


@dataclass
class _Run:
    """Fixed inputs and counters of one run."""

    session: LiveSession
    hooks: Hooks
    started: datetime
    until: datetime | None
    days: list[date] = field(default_factory=list)
    run: int = 0
    errors: int = 0
    skipped: int = 0


async def run_live(
    strategy_path: Path, *, broker: Broker, data: DataProvider, clock: Clock, account_key: str,
    runtime_dir: Path, until: datetime | None = None, max_days: int | None = None,
    config: LiveConfig | None = None,
) -> LiveResult:
    """Run a JoinQuant-style strategy against ``broker``/``data`` until ``until`` (strategy
    time) or for ``max_days`` trading days (forever when both are ``None``).

    Raises:
        ValueError: ``max_days`` < 1.
        Exception: loading the strategy, ``initialize`` or ``process_initialize`` failed, or a
            backend call of the runner itself failed. Errors in other callbacks are logged and
            counted, and the run goes on.
    """
    if max_days is not None and max_days < 1:
        raise ValueError("max_days must be at least 1")
    config = config or LiveConfig()
    runtime_dir = Path(runtime_dir)
    runtime_dir.mkdir(parents=True, exist_ok=True)
    session = LiveSession(broker=broker, data=data, clock=clock, account_key=account_key,
                          runtime_dir=runtime_dir, config=config)
    token = CURRENT_SESSION.set(session)
    hooks: Hooks | None = None
    try:
        hooks = await _start(session, Path(strategy_path))
        run = _Run(session, hooks, clock.now(), until)
        reason = await _run_days(run, max_days)
        await refresh_orders(session)
        account = await broker.account(account_key)
    finally:
        if hooks is not None:  # never overwrite a saved g with a half-initialised one
            session.gstore.save(session.g.snapshot())
        session.close()
        CURRENT_SESSION.reset(token)
    log.info("live run finished (%s): %d days, %d orders", reason, len(run.days),
             len(session.book.all()))
    return LiveResult(tuple(session.book.all()), account, tuple(run.days), run.run,
                      run.errors, run.skipped, reason)


async def _start(session: LiveSession, path: Path) -> Hooks:
    module = await session.thread.run(load_strategy, path, strategy_namespace(session.g))
    hooks = find_hooks(module)
    await session.refresh_portfolio()
    session.begin_moment(session.clock.now())
    if hooks.initialize is not None:
        await session.thread.run(_call, hooks.initialize, session.context)
    restored = session.gstore.load()
    if restored is not None:
        session.g.replace(restored)
        log.info("restored g from %s (%d attributes)", session.gstore.path, len(restored))
    if hooks.process_initialize is not None:
        await session.thread.run(_call, hooks.process_initialize, session.context)
    session.gstore.save(session.g.snapshot())
    return hooks


def _arity(func: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _call(func: Callable[..., Any], *args: Any) -> Any:
    """Call a strategy callback with as many leading arguments as it declares."""
    return func(*args[: _arity(func)])


async def next_trade_day(data: DataProvider, day: date) -> date:
    """The first trading day on or after ``day`` (RuntimeError if none within ~a year)."""
    start = day
    while start - day < _CALENDAR_HORIZON:
        days = [d for d in await data.trade_days(start, start + _CALENDAR_LOOKAHEAD) if d >= day]
        if days:
            return min(days)
        start += _CALENDAR_LOOKAHEAD + timedelta(days=1)
    raise RuntimeError(f"no trading day found after {day}")


async def previous_trade_day(data: DataProvider, day: date) -> date | None:
    days = await data.trade_days(None, day - timedelta(days=1), 1)
    return days[-1] if days else None


async def _run_days(run: _Run, max_days: int | None) -> str:
    session = run.session
    day = run.started.date()
    while max_days is None or len(run.days) < max_days:
        day = await next_trade_day(session.data, day)
        if run.until is not None and datetime.combine(day, time(0)) > run.until:
            return "until"
        if run.started < datetime.combine(day, session.config.close_time):
            run.days.append(day)
            if not await _run_day(run, day):
                return "until"
        day += timedelta(days=1)
    return "max_days"


async def _run_day(run: _Run, day: date) -> bool:
    """Run one trading day; False when ``until`` was reached."""
    session = run.session
    session.context.previous_date = await previous_trade_day(session.data, day)
    session.book.start_day()
    period = build_period(day, await session.data.trade_days(*period_bounds(day)))
    late_limit = timedelta(seconds=session.config.max_lateness)
    last: datetime | None = None
    while batch := next_batch(build_day_plan(day, session.registry, run.hooks, period,
                                             session.config), last):
        last = batch[0].when
        if run.until is not None and last > run.until:
            return False
        if last < run.started - late_limit:  # passed before start-up: not replayed
            await _catch_up(run, batch)
            continue
        await _wait_for(session.clock, last)
        lateness = session.clock.now() - last
        if lateness > late_limit:
            log.warning("skipped %s due at %s: %.0fs late", [d.name for d in batch], last,
                        lateness.total_seconds())
            run.skipped += len(batch)
            continue
        await _run_batch(run, batch, last)
    await refresh_orders(session)
    return True


async def _catch_up(run: _Run, batch: list[Due]) -> None:
    """Start-up after the pre-open moment: run ``before_trading_start`` once, late."""
    missed = [d for d in batch if d.name == "before_trading_start"]
    if missed:
        log.info("started after the pre-open moment; running before_trading_start now")
        await _run_batch(run, missed, run.started)


async def _run_batch(run: _Run, batch: list[Due], when: datetime) -> None:
    session = run.session
    session.begin_moment(when)
    for due in batch:
        args: tuple[Any, ...] = (session.context, CurrentData()) if due.with_data else (
            session.context,)
        run.run += 1
        try:
            await session.thread.run(_call, due.func, *args)
        except Exception:  # strategy code: report and keep trading
            run.errors += 1
            log.exception("strategy callback %s failed at %s", due.name, when)
    session.gstore.save(session.g.snapshot())


async def _wait_for(clock: Clock, when: datetime) -> None:
    """Sleep until ``when``; a SteppedClock is driven forward by the runner instead."""
    if isinstance(clock, SteppedClock):
        await clock.step_to(when)
    else:
        await clock.sleep_until(when)
