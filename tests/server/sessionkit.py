"""Fakes and a test action table for the session/app tests (imported by conftest and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bullet_trade.config import ServerConfig
from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import Quote
from bullet_trade.server.context import ActionSpec, RequestContext


class FakeFeed:
    """DataProvider stand-in whose quote feed the test drives by hand."""

    def __init__(self) -> None:
        self.listeners: dict[Security, list[Callable[[Quote], None]]] = {}
        self.subscribe_calls: list[Security] = []
        self.cancelled: list[Security] = []
        self.cancel_event = asyncio.Event()
        self.started = 0
        self.stopped = 0

    async def start(self) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1

    async def subscribe_quotes(
        self, securities: list[Security], listener: Callable[[Quote], None]
    ) -> Callable[[], None]:
        for sec in securities:
            self.subscribe_calls.append(sec)
            self.listeners.setdefault(sec, []).append(listener)

        def cancel() -> None:
            for sec in securities:
                self.listeners[sec].remove(listener)
                if not self.listeners[sec]:
                    del self.listeners[sec]
                self.cancelled.append(sec)
            self.cancel_event.set()

        return cancel

    def emit(self, code: str, price: float) -> None:
        sec = parse_security(code)
        quote = make_quote(sec, price)
        for listener in list(self.listeners.get(sec, [])):
            listener(quote)


def make_quote(sec: Security, price: float) -> Quote:
    return Quote(
        security=sec,
        last_price=price,
        dt=datetime(2025, 1, 2, 9, 31, 0),
        high_limit=round(price * 1.1, 2),
        low_limit=round(price * 0.9, 2),
        pre_close=price,
        day_open=price,
        high=price,
        low=price,
        volume=100,
    )


class FakeBroker:
    def __init__(self) -> None:
        self.started = 0
        self.stopped = 0

    async def start(self) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1


# ---------------------------------------------------------------- handlers


async def h_echo(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    ctx.account_key = ctx.session.account_key
    return {"echo": payload}


async def h_whoami(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    s = ctx.session
    return {
        "session_id": s.session_id,
        "peer": s.peer,
        "account_key": s.account_key,
        "sub_account_id": s.sub_account_id,
        "extensions": sorted(s.extensions),
        "sessions": ctx.state.sessions,
    }


async def h_bad(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    raise BadRequest("amount must be positive", field="amount")


async def h_boom(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    raise RuntimeError("kaboom")


async def h_unencodable(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    return {"value": object()}


async def h_huge(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    return "x" * int(payload["size"])


async def h_hang(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    await asyncio.Event().wait()  # never set: only the server timeout ends this


async def h_subscribe(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    return {"count": await ctx.session.subscribe(list(payload["securities"]))}


async def h_unsubscribe(ctx: RequestContext, payload: dict[str, Any]) -> Any:
    count, removed = await ctx.session.unsubscribe(payload.get("securities"))
    return {"count": count, "removed": removed}


def short(config: ServerConfig, payload: dict[str, Any]) -> float:
    return 0.05


def base_actions() -> dict[str, ActionSpec]:
    return {
        "echo": ActionSpec(h_echo),
        "whoami": ActionSpec(h_whoami),
        "fail.bad": ActionSpec(h_bad),
        "fail.boom": ActionSpec(h_boom),
        "unencodable": ActionSpec(h_unencodable),
        "huge": ActionSpec(h_huge),
        "hang.read": ActionSpec(h_hang, timeout=short),
        "hang.order": ActionSpec(
            h_hang, service="broker", timeout=short, on_timeout="SUBMIT_UNKNOWN"
        ),
        "data.subscribe": ActionSpec(h_subscribe, service="data"),
        "data.unsubscribe": ActionSpec(h_unsubscribe, service="data"),
        "data.echo": ActionSpec(h_echo, service="data"),
        "broker.echo": ActionSpec(h_echo, service="broker"),
    }
