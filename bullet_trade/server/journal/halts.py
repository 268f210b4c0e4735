"""The kill switch state: which accounts are halted, persisted in the journal."""

from __future__ import annotations

from bullet_trade.errors import TradingHalted
from bullet_trade.server.journal.db import Journal


class HaltRegistry:
    """Halted accounts, cached in memory (checked on every placement) and persisted.

    Args:
        journal: where halts survive restarts.
    """

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._halted: dict[str, str] = {}

    async def load(self) -> None:
        self._halted = await self._journal.halts()

    def reason(self, account_key: str) -> str | None:
        return self._halted.get(account_key)

    def check(self, account_key: str) -> None:
        """Raise ``TradingHalted`` when ``account_key`` is halted."""
        reason = self._halted.get(account_key)
        if reason is not None:
            raise TradingHalted(
                f"trading is halted on account {account_key!r}: {reason} (交易已暂停)",
                field="account_key",
                details={"account_key": account_key},
            )

    async def halt(self, account_key: str, reason: str) -> None:
        """Halt ``account_key``; effective in memory at once, persisted before returning."""
        self._halted[account_key] = reason
        await self._journal.set_halt(account_key, reason)

    async def resume(self, account_key: str) -> bool:
        """Lift the halt; returns whether the account was halted."""
        was = self._halted.pop(account_key, None) is not None
        await self._journal.set_halt(account_key, None)
        return was
