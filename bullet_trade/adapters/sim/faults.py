"""Fault injection of the simulated broker (``SimConfig.faults``, all off by default).

What each fault does (see :class:`~bullet_trade.config.FaultConfig` for the settings):

* ``latency``: every broker call first awaits that many seconds of real time.
* ``reject_rate``: a deterministic share of new orders is refused synchronously with
  ``OrderRejected(reason="broker_rejected")`` (decided by ``(seed, account, order number)``,
  so a rerun refuses the same orders).
* outages: :meth:`FaultInjector.disconnect` / :meth:`FaultInjector.reconnect` on demand, and
  a schedule (``disconnect_every`` / ``disconnect_for`` clock seconds, the first outage one
  period after the broker was built). While down every broker call raises
  ``BackendUnavailable``; listeners get ``BackendStateChanged("disconnected")`` and later
  ``BackendStateChanged("connected")``. The exchange keeps matching; the events it produces
  meanwhile are held and delivered after the reconnect. A scheduled state change is noticed
  at the next broker call or matching pass.
* ``callback_delay`` / ``reorder``: events are held for that many clock seconds, and/or
  delivered with adjacent pairs swapped (A B C D → B A D C within one release). Events are
  never dropped: :meth:`FaultInjector.flush` delivers everything held (the broker calls it on
  stop).

Without any fault, :meth:`FaultInjector.emit` delivers at once, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bullet_trade.adapters.sim.tasks import spawn
from bullet_trade.adapters.sim.universe import stable_unit
from bullet_trade.config import FaultConfig
from bullet_trade.errors import BackendUnavailable
from bullet_trade.model.clock import Clock
from bullet_trade.model.records import BackendStateChanged, BrokerEvent

logger = logging.getLogger(__name__)

CONNECTED = "connected"
DISCONNECTED = "disconnected"


class FaultInjector:
    """The broker's faults: latency, refusals, outages and held/reordered events.

    Args:
        config: which faults are on.
        seed: the simulator's seed (for deterministic refusals).
        clock: source of time for the outage schedule and the event delay.
        deliver: hands one event to the broker's listeners.
    """

    def __init__(
        self,
        config: FaultConfig,
        seed: int,
        clock: Clock,
        deliver: Callable[[BrokerEvent], None],
    ) -> None:
        self.config = config
        self._seed = seed
        self._clock = clock
        self._deliver = deliver
        self._epoch = clock.now()
        self._manual_down = False
        self._down = False
        self._held: list[tuple[datetime, BrokerEvent]] = []
        self._pump: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ connection

    @property
    def connected(self) -> bool:
        """Whether the backend is up now (after noticing any scheduled change)."""
        self.poll()
        return not self._down

    async def before_call(self) -> None:
        """Await the injected latency, then fail while the backend is down.

        Raises:
            BackendUnavailable: disconnected (on demand or by the schedule).
        """
        if self.config.latency > 0:
            await asyncio.sleep(self.config.latency)
        if not self.connected:
            raise BackendUnavailable("the simulated broker is disconnected (fault injection)")

    def disconnect(self) -> None:
        """Take the backend down until :meth:`reconnect` (idempotent)."""
        self._manual_down = True
        self.poll()

    def reconnect(self) -> None:
        """End an on-demand outage (a scheduled one still applies; idempotent)."""
        self._manual_down = False
        self.poll()

    def poll(self) -> None:
        """Notice a state change (on demand or scheduled) and tell the listeners."""
        down = self._manual_down or self._scheduled_down()
        if down == self._down:
            return
        self._down = down
        state = DISCONNECTED if down else CONNECTED
        logger.warning("simulated broker %s (fault injection)", state)
        self._deliver(BackendStateChanged(state=state, detail="fault injection"))
        if not down and self._held:
            self._start_pump()

    def _scheduled_down(self) -> bool:
        every, length = self.config.disconnect_every, self.config.disconnect_for
        if every <= 0:
            return False
        elapsed = (self._clock.now() - self._epoch).total_seconds()
        return elapsed >= every and elapsed % every < length

    # ------------------------------------------------------------------ refusals

    def rejects(self, account_key: str, number: int) -> bool:
        """Whether the ``number``-th order of ``account_key`` is refused by the broker."""
        rate = self.config.reject_rate
        return rate > 0 and stable_unit(self._seed, "reject", account_key, number) < rate

    # ------------------------------------------------------------------ events

    def emit(self, event: BrokerEvent) -> None:
        """Deliver ``event`` now, or hold it (delay, reorder, outage) for the pump."""
        holding = self.config.callback_delay > 0 or self.config.reorder
        if not holding and not self._down and not self._held:
            self._deliver(event)
            return
        release = self._clock.now() + timedelta(seconds=self.config.callback_delay)
        self._held.append((release, event))
        self._start_pump()

    def flush(self) -> None:
        """Deliver every held event now (reordered when configured); nothing is lost."""
        batch = [event for _, event in self._held]
        self._held.clear()
        self._release(batch)

    def _start_pump(self) -> None:
        if self._pump is None or self._pump.done():
            try:
                self._pump = spawn(self._run_pump(), name="sim-broker-events")
            except RuntimeError:  # no running loop: deliver synchronously instead
                self.flush()

    async def _run_pump(self) -> None:
        while self._held and not self._down:
            await self._clock.sleep_until(self._held[0][0])
            if self._down:
                return
            now = self._clock.now()
            due = [event for at, event in self._held if at <= now]
            self._held = [(at, event) for at, event in self._held if at > now]
            self._release(due)
            await asyncio.sleep(0)

    def _release(self, batch: list[BrokerEvent]) -> None:
        if self.config.reorder:
            for i in range(0, len(batch) - 1, 2):
                batch[i], batch[i + 1] = batch[i + 1], batch[i]
        for event in batch:
            self._deliver(event)
