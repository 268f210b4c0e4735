"""The ``context`` object handed to every strategy callback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from bullet_trade.live.portfolio import Portfolio

if TYPE_CHECKING:
    from bullet_trade.live.session import LiveSession


@dataclass(frozen=True)
class RunParams:
    """JoinQuant's ``context.run_params`` (attribute access, like JoinQuant)."""

    start_date: date
    type: str = "sim_trade"
    frequency: str = "minute"
    is_live: bool = True


class Context:
    """``context``: strategy time, the portfolio and run parameters.

    ``current_dt`` is the scheduled moment being run (not the wall clock); ``previous_date``
    is the previous trading day from the data provider's calendar (also on the first day).
    ``portfolio`` is refreshed from the broker at most once per moment, and again after an
    order or a broker event.
    """

    def __init__(self, session: LiveSession, start: datetime) -> None:
        self._session = session
        self.current_dt: datetime = start
        self.previous_date: date | None = None
        self.run_params = RunParams(start_date=start.date())

    @property
    def portfolio(self) -> Portfolio:
        return self._session.portfolio()

    @property
    def subportfolios(self) -> list[Portfolio]:
        return [self.portfolio]

    @property
    def universe(self) -> list[str]:
        return list(self._session.settings.universe)

    def __repr__(self) -> str:
        return f"Context(current_dt={self.current_dt}, previous_date={self.previous_date})"
