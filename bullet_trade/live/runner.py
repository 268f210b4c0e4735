"""The live loop: start the strategy, then run each trading day's moments in order.

Start-up is :func:`bullet_trade.live.startup.start_strategy` (initialize, ``g`` restore,
after_code_changed, process_initialize). The runtime directory is locked for the whole run
(:mod:`bullet_trade.live.lock`). Then, per trading day (from the data provider's calendar, so
it follows the broker's terminal): compute the day's moments, ``await clock.sleep_until`` each
one, run its callbacks one after another on the strategy thread, then save ``g`` and
``live_state.json`` with that moment as the last completed one.

Restart: moments already completed today (per ``live_state.json``) are never run again, and
today's orders are taken back from the broker. Moments that passed before start-up are not
replayed (``before_trading_start`` is caught up once if it has not run and the session has not
closed yet); moments later than ``LiveConfig.max_lateness`` are skipped with a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.jq.binding import CURRENT_SESSION
from bullet_trade.jq.data import CurrentData
from bullet_trade.jq.objects import Order, Tick
from bullet_trade.live.config import LiveConfig
from bullet_trade.live.dayplan import Due, Hooks, build_day_plan, next_batch
from bullet_trade.live.lock import RuntimeLock
from bullet_trade.live.schedule import build_period, period_bounds
from bullet_trade.live.session import LiveSession
from bullet_trade.live.startup import call_hook, end_strategy, start_strategy
from bullet_trade.live.trading import refresh_orders, restore_orders
from bullet_trade.model.clock import Clock, SteppedClock
from bullet_trade.model.records import AccountSnapshot, Quote

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
        RuntimeDirLocked: another runner holds ``runtime_dir``.
        Exception: loading the strategy, ``initialize`` or ``process_initialize`` failed, or a
            backend call of the runner itself failed. Errors in other callbacks are logged and
            counted, and the run goes on.
    """
    if max_days is not None and max_days < 1:
        raise ValueError("max_days must be at least 1")
    config = config or LiveConfig()
    runtime_dir = Path(runtime_dir)
    with RuntimeLock(runtime_dir, strategy=str(strategy_path)):
        session = LiveSession(broker=broker, data=data, clock=clock, account_key=account_key,
                              runtime_dir=runtime_dir, config=config)
        token = CURRENT_SESSION.set(session)
        try:
            return await _run_session(session, Path(strategy_path), until, max_days)
        finally:
            session.close()
            CURRENT_SESSION.reset(token)


async def _run_session(session: LiveSession, path: Path, until: datetime | None,
                       max_days: int | None) -> LiveResult:
    hooks: Hooks | None = None
    ticks: asyncio.Task[None] | None = None
    try:
        hooks = await start_strategy(session, path)
        if hooks.handle_tick is not None:
            ticks = asyncio.create_task(_dispatch_ticks(session, hooks), name="bt-live-ticks")
        run = _Run(session, hooks, session.clock.now(), until)
        reason = await _run_days(run, max_days)
        if ticks is not None:  # deliver the ticks that arrived while the last job ran
            session.ticks.stop()
            await ticks
        await end_strategy(session, hooks)
        await refresh_orders(session)
        account = await session.broker.account(session.account_key)
    finally:
        await _stop_ticks(ticks)
        if hooks is not None:  # never overwrite a saved g with a half-initialised one
            session.save()
    log.info("live run finished (%s): %d days, %d orders", reason, len(run.days),
             len(session.book.all()))
    return LiveResult(tuple(session.book.all()), account, tuple(run.days), run.run,
                      run.errors, run.skipped, reason)


async def _stop_ticks(task: asyncio.Task[None] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _dispatch_ticks(session: LiveSession, hooks: Hooks) -> None:
    """Hand pushed quotes to ``handle_tick`` on the strategy thread, one at a time."""
    handler = hooks.handle_tick
    if handler is None:
        return
    while True:
        await _deliver_ticks(session, handler, await session.ticks.next_batch())
        if session.ticks.stopping:
            return


async def _deliver_ticks(session: LiveSession, handler: Callable[..., Any],
                         quotes: list[Quote]) -> None:
    for quote in quotes:
        try:
            await session.thread.run(call_hook, handler, session.context, Tick.from_quote(quote))
        except Exception:  # strategy code: report and keep trading
            log.exception("handle_tick failed for %s", quote.security.jq)


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


async def _begin_day(session: LiveSession, day: date) -> datetime | None:
    """Reset per-day state; after a same-day restart take today's orders back.

    Returns the last moment of ``day`` completed before a restart (``None``: none).
    """
    session.context.previous_date = await previous_trade_day(session.data, day)
    session.book.start_day()
    done = session.state.done_until(day)
    if session.state.day == day:
        await restore_orders(session, session.state.order_ids)
    session.state.start_day(day)
    if done is not None:
        log.info("restart on %s: moments up to %s already ran and are not run again", day, done)
    return done


async def _run_day(run: _Run, day: date) -> bool:
    """Run one trading day; False when ``until`` was reached."""
    session = run.session
    done = await _begin_day(session, day)
    period = build_period(day, await session.data.trade_days(*period_bounds(day)))
    late_limit = timedelta(seconds=session.config.max_lateness)
    last: datetime | None = None
    while batch := next_batch(build_day_plan(day, session.registry, run.hooks, period,
                                             session.config), last):
        last = batch[0].when
        if run.until is not None and last > run.until:
            return False
        if done is not None and last <= done:
            continue
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
    session.save()
    return True


async def _catch_up(run: _Run, batch: list[Due]) -> None:
    """Start-up after the pre-open moment: run ``before_trading_start`` once, late."""
    missed = [d for d in batch if d.name == "before_trading_start"]
    if missed:
        log.info("started after the pre-open moment; running before_trading_start now")
        await _run_batch(run, missed, run.started, done=missed[0].when)


async def _run_batch(run: _Run, batch: list[Due], when: datetime,
                     done: datetime | None = None) -> None:
    """Run ``batch`` at strategy time ``when``, then record ``done`` (default ``when``) as the
    last completed moment and persist ``g`` and the run state."""
    session = run.session
    session.begin_moment(when)
    for due in batch:
        args: tuple[Any, ...] = (session.context, CurrentData()) if due.with_data else (
            session.context,)
        run.run += 1
        try:
            await session.thread.run(call_hook, due.func, *args)
        except Exception:  # strategy code: report and keep trading
            run.errors += 1
            log.exception("strategy callback %s failed at %s", due.name, when)
    session.state.last_done = done or when
    session.save()


async def _wait_for(clock: Clock, when: datetime) -> None:
    """Sleep until ``when``; a SteppedClock is driven forward by the runner instead."""
    if isinstance(clock, SteppedClock):
        await clock.step_to(when)
    else:
        await clock.sleep_until(when)
