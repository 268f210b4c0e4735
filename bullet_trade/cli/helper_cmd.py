"""``bullet-trade helper export [--out DIR]``: write the JoinQuant helper file for upload.

The file comes from the installed package (:mod:`bullet_trade.jq_helper`), so the command works
from a wheel as well as from a source checkout.
"""

from __future__ import annotations

from pathlib import Path

import click

from bullet_trade.jq_helper import export_helper


@click.group(name="helper")
def helper_command() -> None:
    """The JoinQuant remote helper (聚宽模拟盘 → bullet-trade server)."""


@helper_command.command(name="export")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="directory to write bullet_trade_jq_remote_helper.py into (created if missing).",
)
def export_command(out: Path) -> None:
    """Write bullet_trade_jq_remote_helper.py; upload it to your JoinQuant research root."""
    try:
        target = export_helper(out)
    except OSError as exc:
        raise click.ClickException(f"cannot write the helper into {out}: {exc}") from None
    click.echo(str(target))
    click.echo(
        "upload this file to the root of your JoinQuant research space (研究根目录), then "
        "`import bullet_trade_jq_remote_helper as bt` in the strategy; see docs/joinquant.md"
    )
