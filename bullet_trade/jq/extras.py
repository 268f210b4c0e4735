"""JoinQuant API: percent orders, tick subscriptions and messages.

``order_percent``/``order_target_percent`` size the order from ``context.portfolio.total_value``
at call time and then follow ``order_value``/``order_target_value``. ``send_msg`` logs the
message (and calls the handler set with ``set_message_handler``); nothing leaves the machine
unless a handler does it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from bullet_trade.jq.api import _place
from bullet_trade.jq.binding import current_session
from bullet_trade.jq.objects import Order
from bullet_trade.live.planner import IntentKind
from bullet_trade.model.codes import Security, parse_security

log = logging.getLogger("bullet_trade.jq")


def _percent_value(percent: Any) -> float:
    if isinstance(percent, bool) or not isinstance(percent, (int, float)):
        raise TypeError(f"percent must be a number, got {percent!r}")
    if not -1.0 <= percent <= 1.0:
        raise ValueError(f"percent is a fraction of total value in [-1, 1], got {percent!r}")
    return float(percent) * current_session().portfolio().total_value


def order_percent(security: str, percent: float, price: Any = None, style: Any = None, *,
                  side: str = "long", pindex: int = 0) -> Order | None:
    """Buy (sell when negative) shares worth ``percent`` of the portfolio's total value."""
    return _place(security, IntentKind.VALUE, _percent_value(percent), price, style)


def order_target_percent(security: str, percent: float, price: Any = None, style: Any = None,
                         *, side: str = "long", pindex: int = 0) -> Order | None:
    """Trade so that the holding is worth ``percent`` of the portfolio's total value."""
    if isinstance(percent, (int, float)) and not isinstance(percent, bool) and percent < 0:
        raise ValueError(f"target percent must be >= 0, got {percent!r}")
    return _place(security, IntentKind.TARGET_VALUE, _percent_value(percent), price, style)


def _codes(security: str | Iterable[str]) -> list[Security]:
    items = [security] if isinstance(security, str) else list(security)
    return [parse_security(code) for code in items]


def subscribe(security: str | Iterable[str], frequency: str = "tick") -> None:
    """Deliver ticks of ``security`` to ``handle_tick(context, tick)``.

    Raises:
        ValueError: ``frequency`` is not ``tick``, or the subscription limit is exceeded.
    """
    if frequency != "tick":
        raise ValueError(f"only frequency='tick' can be subscribed in live, got {frequency!r}")
    session = current_session()
    session.call(session.ticks.subscribe(_codes(security)))


def _unsubscribe(codes: list[Security] | None) -> None:
    current_session().ticks.unsubscribe(codes)


def unsubscribe(security: str | Iterable[str], frequency: str = "tick") -> None:
    """Stop the ticks of ``security`` (unknown codes are ignored)."""
    session = current_session()
    session.call(_async(_unsubscribe, _codes(security)))


def unsubscribe_all() -> None:
    """Stop every tick subscription of the strategy."""
    session = current_session()
    session.call(_async(_unsubscribe, None))


async def _async(func: Callable[..., None], *args: Any) -> None:
    func(*args)  # on the event loop thread, where subscriptions live


def set_message_handler(handler: Callable[[str], Any] | None) -> None:
    """Route ``send_msg`` texts to ``handler(text)`` as well (``None`` removes it)."""
    current_session().settings.message_handler = handler


def send_msg(message: Any) -> bool:
    """Log ``message`` and pass it to the message handler, if any. Never raises."""
    session = current_session()
    text = str(message)
    session.messages.append(text)
    log.info("[strategy message] %s", text)
    handler = session.settings.message_handler
    if handler is None:
        return True
    try:
        handler(text)
    except Exception:  # a notification failure must not stop the strategy
        log.exception("message handler failed")
        return False
    return True
