"""Start-up and shutdown of a strategy: hooks that run once per process.

Start-up order:

1. load the file as module ``strategy`` (API names injected, ``from jqdata import *`` works);
2. fetch the account (so ``initialize`` sees real cash);
3. ``initialize(context)`` — on every start, because it registers the scheduled jobs;
4. restore ``g`` from ``g.pkl`` over what ``initialize`` set;
5. ``after_code_changed(context)`` when the file's hash differs from the stored one;
6. re-subscribe the ticks stored in ``live_state.json``;
7. ``process_initialize(context)``;
8. save ``g`` and ``live_state.json``.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bullet_trade.jq.namespace import strategy_namespace
from bullet_trade.live.dayplan import Hooks
from bullet_trade.live.loader import find_hooks, load_strategy
from bullet_trade.live.session import LiveSession
from bullet_trade.model.codes import parse_security

log = logging.getLogger("bullet_trade.live.runner")


def _arity(func: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def call_hook(func: Callable[..., Any], *args: Any) -> Any:
    """Call a strategy callback with as many leading arguments as it declares."""
    return func(*args[: _arity(func)])


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


async def _restore(session: LiveSession, hooks: Hooks, path: Path) -> None:
    restored = session.gstore.load()
    if restored is not None:
        session.g.replace(restored)
        log.info("restored g from %s (%d attributes)", session.gstore.path, len(restored))
    digest = file_hash(path)
    previous = session.state.strategy_hash
    session.state.strategy_hash = digest
    if previous is not None and previous != digest:
        log.info("strategy file changed since the last run")
        if hooks.after_code_changed is not None:
            await session.thread.run(call_hook, hooks.after_code_changed, session.context)
    codes = [parse_security(code) for code in session.state.subscriptions]
    if codes:
        await session.ticks.subscribe(codes)


async def start_strategy(session: LiveSession, path: Path) -> Hooks:
    """Run the start-up sequence above and return the strategy's hooks.

    Raises:
        Exception: loading the file, ``initialize``, ``after_code_changed`` or
            ``process_initialize`` failed (the run cannot start).
    """
    module = await session.thread.run(load_strategy, path, strategy_namespace(session.g))
    hooks = find_hooks(module)
    await session.refresh_portfolio()
    session.begin_moment(session.clock.now())
    if hooks.initialize is not None:
        await session.thread.run(call_hook, hooks.initialize, session.context)
    await _restore(session, hooks, path)
    if hooks.process_initialize is not None:
        await session.thread.run(call_hook, hooks.process_initialize, session.context)
    session.save()
    return hooks


async def end_strategy(session: LiveSession, hooks: Hooks) -> None:
    """``on_strategy_end(context)`` at a normal end of the run (errors are logged)."""
    if hooks.on_strategy_end is None:
        return
    session.begin_moment(session.clock.now())
    try:
        await session.thread.run(call_hook, hooks.on_strategy_end, session.context)
    except Exception:  # strategy code: report, the run is over anyway
        log.exception("on_strategy_end failed")
