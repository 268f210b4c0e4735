"""Read-only views of the simulated broker's state as contract records."""

from __future__ import annotations

from bullet_trade.adapters.sim.market import SimMarket
from bullet_trade.adapters.sim.state import AccountState
from bullet_trade.adapters.sim.universe import display_name
from bullet_trade.model.records import AccountSnapshot, Position


def account_snapshot(market: SimMarket, account: AccountState) -> AccountSnapshot:
    """Cash and positions of ``account``, positions valued at the market's current price."""
    moment = market.moment()
    positions = []
    for security, held in sorted(account.positions.items()):
        state = market.day_state(security, moment)
        positions.append(
            Position(
                security=security,
                amount=held.amount,
                closeable_amount=held.available,
                avg_cost=round(held.avg_cost, 4),
                last_price=market.prices.to_price(security, state.last),
                name=display_name(security),
                frozen_amount=held.frozen,
            )
        )
    config = account.config
    return AccountSnapshot(
        account_key=config.key,
        account_id=config.account_id,
        account_type=config.account_type,
        available_cash=account.cash,
        frozen_cash=account.frozen_cash,
        positions=tuple(positions),
    )
