"""``bullet-trade halt --account KEY [--resume]``: the kill switch from a terminal.

Connects to a running ``bullet-trade server`` as an ordinary client and calls ``admin.halt``
(persist the halt, cancel every open order of the account, refuse new orders with
``TRADING_HALTED``) or, with ``--resume``, ``admin.resume``. The token needs the ``admin``
scope. Connection settings: flags, else ``QMT_SERVER_HOST/PORT/TOKEN/TLS_CERT/
TLS_FINGERPRINT`` (``--env-file`` > process environment > ``./.env``).

Exit code 0 on success; 1 with the server's error code and message otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import click

from bullet_trade.client.connection import AsyncConnection
from bullet_trade.client.envconfig import client_config_from_env
from bullet_trade.config import ClientConfig
from bullet_trade.errors import BulletTradeError


async def run_switch(
    config: ClientConfig, account: str, *, resume: bool, reason: str | None
) -> dict[str, Any]:
    """Call ``admin.halt`` (or ``admin.resume``) for ``account``; returns the reply.

    Raises:
        BulletTradeError: refused by the server (``FORBIDDEN`` without the admin scope,
            ``UNKNOWN_ACCOUNT``...) or unreachable (``ConnectionLost``).
    """
    payload: dict[str, Any] = {"account_key": account}
    if reason and not resume:
        payload["reason"] = reason
    action = "admin.resume" if resume else "admin.halt"
    async with AsyncConnection(config, features=()) as conn:
        reply = await conn.request(action, payload)
    if not isinstance(reply, dict):
        raise BulletTradeError(f"{action}: unexpected reply {reply!r}")
    return reply


def describe(reply: Mapping[str, Any]) -> list[str]:
    """Human lines for an ``admin.halt`` / ``admin.resume`` reply."""
    account = reply.get("account_key")
    if not reply.get("halted"):
        was = "it was halted" if reply.get("was_halted") else "it was not halted"
        return [f"trading resumed on account {account} ({was}) / 交易已恢复"]
    canceled = list(reply.get("canceled") or [])
    failed = list(reply.get("cancel_failed") or [])
    lines = [
        f"trading halted on account {account}: {reply.get('reason')} / 交易已暂停",
        f"canceled {len(canceled)} open order(s) / 已撤 {len(canceled)} 笔"
        + (f": {', '.join(map(str, canceled))}" if canceled else ""),
    ]
    if failed:
        lines.append(f"cancel NOT accepted for {len(failed)} order(s): "
                     f"{', '.join(map(str, failed))}")
    return lines


@click.command("halt")
@click.option("--account", "account", required=True, help="Account key to halt (or resume).")
@click.option("--resume", is_flag=True, default=False, help="Lift the halt instead.")
@click.option("--reason", default=None, help="Why (stored with the halt and logged).")
@click.option("--host", default=None, help="Server host (QMT_SERVER_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Server port (QMT_SERVER_PORT, 58620).")
@click.option("--token", default=None, help="Token with the admin scope (QMT_SERVER_TOKEN).")
@click.option("--tls-cert", default=None, help="CA file to verify the server (enables TLS).")
@click.option("--tls-fingerprint", default=None, help="Pinned SHA-256 of the server cert.")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the reply.")
@click.pass_obj
def halt_command(
    obj: dict[str, Any], /, account: str, resume: bool, reason: str | None, **flags: Any
) -> None:
    """Kill switch: halt trading on an account (cancel its open orders), or --resume it."""
    overrides = {
        "host": flags["host"], "port": flags["port"], "token": flags["token"],
        "tls_cert": flags["tls_cert"], "tls_fingerprint": flags["tls_fingerprint"],
        "rpc_timeout": flags["timeout"], "account_key": account,
    }
    try:
        config = client_config_from_env(obj["env"], **overrides)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        reply = asyncio.run(run_switch(config, account, resume=resume, reason=reason))
    except BulletTradeError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    for line in describe(reply):
        click.echo(line)
