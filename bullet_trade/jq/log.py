"""The strategy's ``log`` object, on top of :mod:`logging` (logger ``bullet_trade.strategy``).

Each line is prefixed with the strategy time (``context.current_dt``) when a strategy runs.
"""

from __future__ import annotations

import logging
from typing import Any

from bullet_trade.jq.binding import CURRENT_SESSION

_LEVELS = {
    "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
    "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL,
}


class StrategyLog:
    """JoinQuant ``log``: ``debug``, ``info``, ``warn``/``warning``, ``error``, ``critical``."""

    def __init__(self, name: str = "bullet_trade.strategy") -> None:
        self._logger = logging.getLogger(name)

    def _emit(self, level: int, msg: Any, args: tuple[Any, ...]) -> None:
        if not self._logger.isEnabledFor(level):
            return
        session = CURRENT_SESSION.get(None)
        text = str(msg)
        if args:
            # JoinQuant strategies often call log.info("a", b, c) like print(); accept both.
            try:
                text = text % args
            except (TypeError, ValueError):
                text = " ".join([text, *map(str, args)])
        if session is not None:
            text = f"[{session.context.current_dt:%Y-%m-%d %H:%M:%S}] {text}"
        self._logger.log(level, text, stacklevel=3)

    def debug(self, msg: Any, *args: Any) -> None:
        self._emit(logging.DEBUG, msg, args)

    def info(self, msg: Any, *args: Any) -> None:
        self._emit(logging.INFO, msg, args)

    def warn(self, msg: Any, *args: Any) -> None:
        self._emit(logging.WARNING, msg, args)

    warning = warn

    def error(self, msg: Any, *args: Any) -> None:
        self._emit(logging.ERROR, msg, args)

    def critical(self, msg: Any, *args: Any) -> None:
        self._emit(logging.CRITICAL, msg, args)

    def set_level(self, module: str, level: str) -> None:
        """``set_level('strategy', 'info')``; other modules are accepted and ignored."""
        if module == "strategy":
            self._logger.setLevel(_LEVELS.get(str(level).lower(), logging.INFO))


log = StrategyLog()
