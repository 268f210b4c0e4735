"""``live_state.json``: what a restarted runner must know besides ``g``.

Contents (version 1)::

    {"version": 1, "strategy_hash": "<sha256 of the strategy file>",
     "starting_cash": 1000000.0,
     "day": "2025-04-29", "last_done": "2025-04-29T10:00:00",
     "order_ids": ["..."], "subscriptions": ["000001.XSHE"]}

``day``/``last_done`` are the last trading day worked on and the last scheduled moment whose
callbacks all completed; ``order_ids`` are the broker ids of the strategy's orders of that day.
The file is replaced atomically (temporary file + ``os.replace``), so a crash leaves either the
old or the new content. An unreadable file is logged, moved aside (``.corrupt``) and ignored.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_VERSION = 1


@dataclass
class RunState:
    """The persisted run state (mutable; saved by :class:`RunStateStore`)."""

    strategy_hash: str | None = None
    starting_cash: float | None = None
    day: date | None = None
    last_done: datetime | None = None
    order_ids: list[str] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)

    def start_day(self, day: date) -> None:
        """Begin ``day``; a different day than the stored one forgets its progress."""
        if self.day != day:
            self.day, self.last_done, self.order_ids = day, None, []

    def done_until(self, day: date) -> datetime | None:
        """The last completed moment of ``day`` (``None``: nothing ran that day)."""
        return self.last_done if self.day == day else None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION, "strategy_hash": self.strategy_hash,
            "starting_cash": self.starting_cash,
            "day": self.day.isoformat() if self.day else None,
            "last_done": self.last_done.isoformat() if self.last_done else None,
            "order_ids": list(self.order_ids), "subscriptions": list(self.subscriptions),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RunState:
        """Parse a version-1 document (ValueError/TypeError/KeyError when malformed)."""
        if raw.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported live_state version {raw.get('version')!r}")
        cash = raw.get("starting_cash")
        return cls(
            strategy_hash=raw.get("strategy_hash"),
            starting_cash=float(cash) if cash is not None else None,
            day=date.fromisoformat(raw["day"]) if raw.get("day") else None,
            last_done=datetime.fromisoformat(raw["last_done"]) if raw.get("last_done") else None,
            order_ids=[str(x) for x in raw.get("order_ids", [])],
            subscriptions=[str(x) for x in raw.get("subscriptions", [])],
        )


class RunStateStore:
    """Loads and atomically saves a :class:`RunState` at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: str | None = None

    def load(self) -> RunState:
        """The stored state, or a fresh one when the file is missing or unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return RunState()
        try:
            state = RunState.from_json(json.loads(text))
        except (ValueError, TypeError, KeyError):
            aside = self.path.with_name(self.path.name + ".corrupt")
            log.exception("cannot read %s; moved it to %s and starting afresh", self.path, aside)
            os.replace(self.path, aside)
            return RunState()
        self._last = text
        return state

    def save(self, state: RunState) -> None:
        """Write ``state`` if it changed since the last save/load."""
        text = json.dumps(state.to_json(), sort_keys=True, indent=1)
        if text == self._last:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._last = text


def copy_state(state: RunState) -> RunState:
    """A detached copy (for tests and logging)."""
    return dataclasses.replace(state, order_ids=list(state.order_ids),
                               subscriptions=list(state.subscriptions))
