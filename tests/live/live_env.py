"""Test environment: fake backends on an auto-advancing clock, plus a runner shortcut."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from live_fakes import ACCOUNT, AutoClock, FakeBroker, FakeData

from bullet_trade.live.runner import LiveResult, run_live

START = datetime(2025, 4, 29, 8, 30)  # a Tuesday
PRICES = {"000001.XSHE": 10.0, "510300.XSHG": 4.0, "518880.XSHG": 5.3, "688001.XSHG": 50.0}


@dataclass
class Env:
    clock: AutoClock
    data: FakeData
    broker: FakeBroker
    runtime_dir: Path

    async def run(self, strategy: Path, **kwargs: Any) -> LiveResult:
        return await run_live(strategy, broker=self.broker, data=self.data, clock=self.clock,
                              account_key=ACCOUNT, runtime_dir=self.runtime_dir, **kwargs)

    def g(self) -> dict[str, Any]:
        return pickle.loads((self.runtime_dir / "g.pkl").read_bytes())


def make_env(runtime_dir: Path, start: datetime = START, cash: float = 100_000.0) -> Env:
    clock = AutoClock(start)
    data = FakeData(PRICES, clock)
    return Env(clock, data, FakeBroker(data, clock, cash), runtime_dir)
