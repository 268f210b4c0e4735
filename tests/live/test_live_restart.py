"""Restart recovery, live_state.json, the runtime-directory lock and once-per-process hooks."""

import json
from datetime import datetime
from pathlib import Path

import pytest
from live_env import make_env

from bullet_trade.live.lock import RuntimeDirLocked, RuntimeLock
from bullet_trade.live.runstate import RunState, RunStateStore

STRATEGY = """
    def initialize(context):
        g.runs = []
        run_daily(at_ten, '10:00')
        run_daily(at_close, '14:50')
    def before_trading_start(context):
        g.runs.append('bts')
    def process_initialize(context):
        g.starting = context.portfolio.starting_cash
    def at_ten(context):
        g.runs.append('ten')
        order('000001.XSHE', 100)
        order('510300.XSHG', 100, LimitOrderStyle(3.9))  # stays open
    def at_close(context):
        g.runs.append('close')
        g.open_at_close = sorted(o.security for o in get_open_orders().values())
        g.orders_at_close = len(get_orders())
"""


async def test_same_day_restart_does_not_rerun_jobs_and_restores_orders(
        tmp_path: Path, write_strategy) -> None:
    path = write_strategy(STRATEGY)
    env = make_env(tmp_path / "rt")
    first = await env.run(path, until=datetime(2025, 4, 29, 10, 0, 30))
    assert env.g()["runs"] == ["bts", "ten"] and first.stop_reason == "until"
    state = json.loads((tmp_path / "rt" / "live_state.json").read_text())
    assert state["day"] == "2025-04-29" and state["last_done"] == "2025-04-29T10:00:00"
    assert state["order_ids"] == ["B1", "B2"] and state["starting_cash"] == 100_000

    # crash and restart 30 s later, same day, same broker: 10:00 is within max_lateness
    await env.clock.set(datetime(2025, 4, 29, 10, 0, 30))
    env.broker.cash += 50_000  # a deposit: starting_cash must stay the first one
    second = await env.run(path, max_days=1)
    g = env.g()
    assert g["runs"] == ["bts", "ten", "close"]  # nothing ran twice
    assert g["open_at_close"] == ["510300.XSHG"] and g["orders_at_close"] == 2
    assert g["starting"] == 100_000
    assert len(env.broker.placed) == 2
    assert [o.order_id for o in second.orders] == ["B1", "B2"]


async def test_next_day_restart_starts_the_day_afresh(tmp_path: Path, write_strategy) -> None:
    path = write_strategy(STRATEGY)
    env = make_env(tmp_path / "rt")
    await env.run(path, max_days=1)
    await env.clock.set(datetime(2025, 4, 30, 8, 0))
    await env.run(path, max_days=1)
    assert env.g()["runs"] == ["bts", "ten", "close"] * 2
    assert env.g()["orders_at_close"] == 2  # only today's orders


async def test_after_code_changed_and_on_strategy_end(tmp_path: Path, write_strategy) -> None:
    body = """
        def initialize(context):
            g.changes = 0
        def after_code_changed(context):
            g.changes += 1
        def on_strategy_end(context):
            g.ended = context.current_dt.strftime('%Y-%m-%d')
    """
    path = write_strategy(body)
    env = make_env(tmp_path / "rt")
    await env.run(path, max_days=1)
    assert env.g() == {"changes": 0, "ended": "2025-04-29"}
    await env.run(path, max_days=1)
    assert env.g()["changes"] == 0  # same file
    path.write_text(path.read_text() + "\n# edited\n", encoding="utf-8")
    await env.run(path, max_days=1)
    assert env.g()["changes"] == 1


async def test_second_instance_on_the_same_runtime_dir_is_refused(
        tmp_path: Path, write_strategy) -> None:
    path = write_strategy("def initialize(context):\n    pass\n")
    env = make_env(tmp_path / "rt")
    busy = pytest.raises(RuntimeDirLocked, match=r"in use by pid \d+ .* running other\.py")
    with RuntimeLock(tmp_path / "rt", strategy="other.py"), busy:
        await env.run(path, max_days=1)
    await env.run(path, max_days=1)  # released
    assert not (tmp_path / "rt" / ".live.lock.json").exists()


def test_lock_is_exclusive_and_reusable(tmp_path: Path) -> None:
    lock = RuntimeLock(tmp_path, strategy="a.py")
    lock.acquire()
    with pytest.raises(RuntimeDirLocked):
        RuntimeLock(tmp_path, strategy="b.py").acquire()
    lock.release()
    lock.release()  # idempotent
    with RuntimeLock(tmp_path, strategy="b.py"):
        pass


def test_run_state_round_trip_and_corrupt_file(tmp_path: Path) -> None:
    store = RunStateStore(tmp_path / "live_state.json")
    assert store.load() == RunState()
    state = RunState(strategy_hash="h", starting_cash=1.5, day=datetime(2025, 1, 2).date(),
                     last_done=datetime(2025, 1, 2, 10), order_ids=["x"], subscriptions=["y"])
    store.save(state)
    assert RunStateStore(tmp_path / "live_state.json").load() == state
    assert state.done_until(datetime(2025, 1, 3).date()) is None
    state.start_day(datetime(2025, 1, 3).date())
    assert state.last_done is None and state.order_ids == []
    (tmp_path / "live_state.json").write_text("{broken", encoding="utf-8")
    assert RunStateStore(tmp_path / "live_state.json").load() == RunState()
    assert (tmp_path / "live_state.json.corrupt").exists()
