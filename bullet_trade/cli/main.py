"""``bullet-trade`` command line: the composition root.

Only this package reads flags, the environment and ``.env`` files. Every subcommand builds
frozen config objects and wires components together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bullet_trade import __version__
from bullet_trade.cli.env import ConfigError, load_environment


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bullet-trade")
@click.option(
    "--env-file",
    type=click.Path(path_type=Path),
    default=None,
    help="dotenv file; overrides the process environment and ./.env.",
)
@click.pass_context
def cli(ctx: click.Context, env_file: Path | None) -> None:
    """bullet-trade: JoinQuant-style strategies, trading through miniQMT or a simulator."""
    try:
        env = load_environment(env_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.obj = {"env": env}


def _register() -> None:
    from bullet_trade.cli.cert_cmd import cert_command
    from bullet_trade.cli.demo_cmd import demo_command
    from bullet_trade.cli.halt_cmd import halt_command
    from bullet_trade.cli.helper_cmd import helper_command
    from bullet_trade.cli.live_cmd import live_command
    from bullet_trade.cli.server_cmd import server_command

    cli.add_command(server_command)
    cli.add_command(live_command)
    cli.add_command(demo_command)
    cli.add_command(cert_command)
    cli.add_command(helper_command)
    cli.add_command(halt_command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        result: Any = cli.main(args=argv, prog_name="bullet-trade", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return result if isinstance(result, int) else 0
