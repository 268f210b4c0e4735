"""The moments of one trading day: hooks and jobs, sorted into the order they run.

At one moment the order is: ``before_trading_start``, scheduled jobs in registration order,
``handle_data``, ``after_trading_end``. Nothing due at the same moment ever runs concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bullet_trade.live.config import LiveConfig
from bullet_trade.live.schedule import JobRegistry, Period, job_fires_on, parse_time_expr

PRIO_BEFORE_OPEN = 0
PRIO_JOB = 1
PRIO_HANDLE_DATA = 2
PRIO_AFTER_CLOSE = 3


@dataclass(frozen=True, slots=True)
class Hooks:
    """The strategy's optional lifecycle functions."""

    initialize: Callable[..., Any] | None = None
    process_initialize: Callable[..., Any] | None = None
    before_trading_start: Callable[..., Any] | None = None
    handle_data: Callable[..., Any] | None = None
    after_trading_end: Callable[..., Any] | None = None
    after_code_changed: Callable[..., Any] | None = None
    on_strategy_end: Callable[..., Any] | None = None
    handle_tick: Callable[..., Any] | None = None


@dataclass(frozen=True, slots=True, order=True)
class Due:
    """One callback due at ``when``. Sorting gives the execution order."""

    when: datetime
    priority: int
    seq: int
    name: str = field(compare=False)
    func: Callable[..., Any] = field(compare=False)
    with_data: bool = field(default=False, compare=False)


def _hook_entries(day: date, hooks: Hooks, config: LiveConfig) -> list[Due]:
    out: list[Due] = []
    sessions = config.sessions
    if hooks.before_trading_start is not None:
        for when in parse_time_expr(config.before_trading_start).moments(day, sessions):
            out.append(Due(when, PRIO_BEFORE_OPEN, 0, "before_trading_start",
                           hooks.before_trading_start))
    if hooks.handle_data is not None:
        for when in parse_time_expr("every_bar").moments(day, sessions):
            out.append(Due(when, PRIO_HANDLE_DATA, 0, "handle_data", hooks.handle_data, True))
    if hooks.after_trading_end is not None:
        for when in parse_time_expr(config.after_trading_end).moments(day, sessions):
            out.append(Due(when, PRIO_AFTER_CLOSE, 0, "after_trading_end",
                           hooks.after_trading_end))
    return out


def build_day_plan(
    day: date, registry: JobRegistry, hooks: Hooks, period: Period, config: LiveConfig
) -> list[Due]:
    """Everything due on trading day ``day``, in execution order."""
    entries = _hook_entries(day, hooks, config)
    for job in registry.jobs:
        if not job_fires_on(job, day, period):
            continue
        for when in job.spec.moments(day, config.sessions):
            entries.append(Due(when, PRIO_JOB, job.seq, job.name, job.func))
    entries.sort()
    return entries


def next_batch(plan: Sequence[Due], after: datetime | None) -> list[Due]:
    """The entries of the earliest moment strictly after ``after`` (all of them if ``None``)."""
    pending = [d for d in plan if after is None or d.when > after]
    if not pending:
        return []
    first = pending[0].when
    return [d for d in pending if d.when == first]
