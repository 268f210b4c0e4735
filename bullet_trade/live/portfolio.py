"""``context.portfolio``: JoinQuant-shaped views of the broker's account snapshot.

The views are rebuilt from :class:`~bullet_trade.model.records.AccountSnapshot`; the broker's
numbers are used as they are (cash, frozen cash, positions, total value). Zero-amount rows are
dropped. A position that is not held reads as an empty :class:`Position` (no ``KeyError``),
and codes may be given in JoinQuant or QMT form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import AccountSnapshot
from bullet_trade.model.records import Position as PositionRecord


@dataclass(frozen=True)
class Position:
    """JoinQuant-like holding of one security."""

    security: str
    total_amount: int = 0
    closeable_amount: int = 0
    avg_cost: float = 0.0
    price: float = 0.0
    locked_amount: int = 0
    name: str | None = None

    @property
    def value(self) -> float:
        return round(self.total_amount * self.price, 4)

    @property
    def acc_avg_cost(self) -> float:
        return self.avg_cost

    @property
    def side(self) -> str:
        return "long"

    @classmethod
    def from_record(cls, record: PositionRecord) -> Position:
        return cls(
            security=record.security.jq,
            total_amount=record.amount,
            closeable_amount=record.closeable_amount,
            avg_cost=record.avg_cost,
            price=record.last_price,
            locked_amount=record.frozen_amount,
            name=record.name,
        )


def _key(code: object) -> str:
    try:
        return parse_security(code).jq
    except BadRequest:
        return str(code)


class Positions(Mapping[str, Position]):
    """Read-only mapping JoinQuant code → Position; a missing code gives an empty Position."""

    def __init__(self, positions: dict[str, Position]) -> None:
        self._positions = positions

    def __getitem__(self, code: str) -> Position:
        key = _key(code)
        found = self._positions.get(key)
        return found if found is not None else Position(security=key)

    def __contains__(self, code: object) -> bool:
        return _key(code) in self._positions

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)

    def __repr__(self) -> str:
        return f"Positions({list(self._positions.values())!r})"


class Portfolio:
    """JoinQuant-like portfolio built from one account snapshot (immutable)."""

    def __init__(self, snapshot: AccountSnapshot, starting_cash: float | None = None) -> None:
        self.snapshot = snapshot
        self.available_cash = snapshot.available_cash
        self.locked_cash = snapshot.frozen_cash
        self.total_value = snapshot.total_value
        self.positions_value = snapshot.market_value
        self.starting_cash = starting_cash if starting_cash else snapshot.total_value
        self.positions = Positions(
            {p.security.jq: Position.from_record(p) for p in snapshot.positions if p.amount > 0}
        )

    @property
    def cash(self) -> float:
        return self.available_cash

    @property
    def transferable_cash(self) -> float:
        return self.available_cash

    @property
    def long_positions(self) -> Positions:
        return self.positions

    @property
    def returns(self) -> float:
        """Total return since ``starting_cash`` (0 when unknown)."""
        if not self.starting_cash:
            return 0.0
        return self.total_value / self.starting_cash - 1.0

    def __repr__(self) -> str:
        return (
            f"Portfolio(cash={self.available_cash:.2f}, total={self.total_value:.2f}, "
            f"positions={len(self.positions)})"
        )
