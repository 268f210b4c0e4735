"""Clock options of the simulated exchange: replay clock and extra holidays (2027 dates)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bullet_trade.adapters.sim.clocks import replay_start, sim_calendar, sim_clock
from bullet_trade.cli.backends import build_backends
from bullet_trade.cli.env import ConfigError
from bullet_trade.cli.server_cmd import build_sim_config
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import AcceleratedClock, ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import HistoryQuery

WALL = ManualClock(datetime(2026, 5, 6, 10, 0))


def test_replay_start_forms() -> None:
    assert replay_start("2027-03-01") == datetime(2027, 3, 1, 9, 15)
    assert replay_start("2027-03-01 13:05") == datetime(2027, 3, 1, 13, 5)
    with pytest.raises(ValueError):
        replay_start("March 1st")


def test_config_validates_replay_fields() -> None:
    with pytest.raises(ValueError, match="replay_start"):
        SimConfig(clock_mode="replay", replay_start="tomorrow")
    with pytest.raises(ValueError, match="replay_speed"):
        SimConfig(replay_speed=0)


def test_sim_clock_per_mode() -> None:
    assert sim_clock(SimConfig(), WALL) is WALL
    replay = sim_clock(SimConfig(clock_mode="replay", replay_start="2027-03-01",
                                 replay_speed=120), WALL)
    assert isinstance(replay, AcceleratedClock) and replay.speed == 120
    start = datetime(2027, 3, 1, 9, 15)
    assert start <= replay.now() < start + timedelta(hours=1)
    with pytest.raises(ValueError, match="sim-replay-start"):
        sim_clock(SimConfig(clock_mode="replay"), WALL)


def test_cli_flags_and_environment() -> None:
    env = {"BT_SIM_REPLAY_START": "2027-01-04", "BT_SIM_REPLAY_SPEED": "30",
           "BT_HOLIDAYS_FILE": "env.txt", "BT_SIM_CLOCK": "replay"}
    config = build_sim_config({}, env)
    assert (config.clock_mode, config.replay_start, config.replay_speed) == (
        "replay", "2027-01-04", 30.0)
    assert config.holidays_file == "env.txt"
    flags = {"sim_replay_start": "2027-02-01 10:00", "sim_replay_speed": 5.0,
             "holidays": "flag.txt"}
    config = build_sim_config(flags, env)
    assert (config.replay_start, config.replay_speed, config.holidays_file) == (
        "2027-02-01 10:00", 5.0, "flag.txt")


def _holidays(tmp_path: Path) -> Path:
    path = tmp_path / "holidays.txt"
    path.write_text("# 2027 extra closures\n2027-03-03\n\n2027-03-05\n", encoding="utf-8")
    return path


def test_extra_holidays_in_2027(tmp_path: Path) -> None:
    from bullet_trade.model.calendar import load_holidays_file

    calendar = sim_calendar(WALL, load_holidays_file(_holidays(tmp_path)))
    days = calendar.trade_days(date(2027, 3, 1), date(2027, 3, 8))
    assert days == [date(2027, 3, 1), date(2027, 3, 2), date(2027, 3, 4), date(2027, 3, 8)]
    assert calendar.next_trading_day(date(2027, 3, 2)) == date(2027, 3, 4)


async def test_backends_use_replay_clock_and_holidays(tmp_path: Path) -> None:
    config = SimConfig(clock_mode="replay", replay_start="2027-03-05 10:00",
                       holidays_file=str(_holidays(tmp_path)))
    data, broker = build_backends("sim", accounts=(), sim=config, clock=WALL)
    days = await data.trade_days(date(2027, 3, 1), date(2027, 3, 8))
    assert date(2027, 3, 3) not in days and date(2027, 3, 5) not in days
    query = HistoryQuery(security=parse_security("000001.XSHE"), count=1)
    last = await data.history(query)  # a holiday: the market stands at the previous close
    assert last.index[-1].date() == date(2027, 3, 4)
    await broker.stop()  # type: ignore[attr-defined]


def test_backends_report_bad_clock_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sim-replay-start"):
        build_backends("sim", accounts=(), sim=SimConfig(clock_mode="replay"), clock=WALL)
    missing = SimConfig(holidays_file=str(tmp_path / "absent.txt"))
    with pytest.raises(ConfigError):
        build_backends("sim", accounts=(), sim=missing, clock=WALL)
