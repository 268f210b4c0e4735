"""The cache of minute bars per (code, day), filling a cohort's day in one vectorised pass
when many of its codes are asked.

One code's day is generated alone (:func:`.intraday.minute_bars`, about 50 µs). A scan of a
whole universe (e.g. today's unfinished daily bar of 5,000 codes) asks most codes of each
cohort (:func:`.stretch.cohort_of`) for the same day; after :data:`BATCH_AFTER` misses of one
cohort's day the codes of the cohort not cached yet are generated together
(:func:`.minute_block.minute_block`, about 20 µs a code including its generator). The values
are identical either way: each code keeps its own generator ``(seed, code, "minute", day)``.
A few codes of a cohort (a portfolio, an index's members spread over many cohorts) never
reach the threshold, so they never pay for their neighbours.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from bullet_trade.adapters.sim.intraday import BarArrays, minute_bars
from bullet_trade.adapters.sim.minute_block import DRAWS, minute_block
from bullet_trade.adapters.sim.stretch import COHORT, cohort_of
from bullet_trade.adapters.sim.universe import generator
from bullet_trade.model.codes import Security

#: Misses of one cohort's day before the rest of the cohort is generated at once.
BATCH_AFTER = 16
CAPACITY = 1024  # code-days kept (about 11.5 kB each)
_GROUPS = 4096  # cohort-days whose misses are counted

#: (daily bar as a scalar row, (low, high) limits in ticks, daily sigma) of a code's day
DayInputs = tuple[BarArrays, tuple[int, int], float]
_FIELDS = ("open", "high", "low", "close", "volume", "money")


class MinuteStore:
    """Minute bars of any (code, day index) for one seed; ``inputs`` gives a day's inputs."""

    def __init__(self, seed: int, inputs: Callable[[Security, int], DayInputs]) -> None:
        self.seed = seed
        self._inputs = inputs
        self._cache: OrderedDict[tuple[Security, int], BarArrays] = OrderedDict()
        self._misses: dict[tuple[str, int, int], int] = {}

    def get(self, security: Security, index: int) -> BarArrays:
        """The 240 minute bars of ``security`` on day ``index`` (cached)."""
        key = (security, index)
        bars = self._cache.get(key)
        if bars is not None:
            self._cache.move_to_end(key)
            return bars
        group = (security.exchange, int(security.symbol) // COHORT, index)
        misses = self._misses.pop(group, 0) + 1
        if misses >= BATCH_AFTER:
            return self._batch(security, index)
        self._misses[group] = misses  # (re)inserted last: the oldest group is first
        if len(self._misses) > _GROUPS:
            del self._misses[next(iter(self._misses))]
        bars = self._one(security, index)
        self._keep(key, bars)
        return bars

    def _one(self, security: Security, index: int) -> BarArrays:
        day, limits, sigma = self._inputs(security, index)
        rng = generator(self.seed, security.jq, "minute", index)
        return minute_bars(rng, day, limits, sigma)

    def _keep(self, key: tuple[Security, int], bars: BarArrays) -> None:
        self._cache[key] = bars
        while len(self._cache) > CAPACITY:
            self._cache.popitem(last=False)

    def _batch(self, security: Security, index: int) -> BarArrays:
        """Generate every code of ``security``'s cohort not cached for day ``index`` at once
        (a day without volume alone: it draws nothing); return ``security``'s bars."""
        made: dict[Security, BarArrays] = {}
        todo, inputs = [], []
        for member in cohort_of(security):
            if (member, index) in self._cache:
                continue
            day_inputs = self._inputs(member, index)
            if int(day_inputs[0].volume) == 0:
                made[member] = self._one(member, index)
            else:
                todo.append(member)
                inputs.append(day_inputs)
        if todo:
            made.update(zip(todo, self._block(todo, index, inputs), strict=True))
        for member, bars in made.items():
            self._keep((member, index), bars)
        return made[security]

    def _block(self, members: list[Security], index: int,
               inputs: list[DayInputs]) -> list[BarArrays]:
        """Minute bars of ``members`` (days with volume) in one vectorised pass."""
        u = np.empty((len(members), DRAWS), dtype=np.float64)
        for row, member in enumerate(members):
            generator(self.seed, member.jq, "minute", index).random(out=u[row])
        day = BarArrays(*(np.array([getattr(i[0], f) for i in inputs], dtype=np.int64)
                          for f in _FIELDS))
        low = np.array([i[1][0] for i in inputs], dtype=np.int64)
        high = np.array([i[1][1] for i in inputs], dtype=np.int64)
        sigma = np.array([i[2] for i in inputs], dtype=np.float64)
        bars = minute_block(u, day, (low, high), sigma)
        return [bars.row(r) for r in range(len(members))]
