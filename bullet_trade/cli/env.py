"""Environment loading and typed parsing for the composition root.

Precedence, highest first: command-line flags > ``--env-file FILE`` > the process
environment > ``./.env`` in the current directory. Nothing outside ``bullet_trade.cli``
reads the environment.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from bullet_trade.model.records import AccountConfig

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def load_environment(env_file: Path | None, *, cwd: Path | None = None) -> dict[str, str]:
    """Merge ``./.env``, the process environment and ``env_file`` (in rising precedence)."""
    merged: dict[str, str] = {}
    local = (cwd or Path.cwd()) / ".env"
    if local.is_file():
        merged.update({k: v for k, v in dotenv_values(local).items() if v is not None})
    merged.update(os.environ)
    if env_file is not None:
        if not env_file.is_file():
            raise ConfigError(f"--env-file {env_file} does not exist")
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    return merged


def get_str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def get_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = get_str(env, name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean (use true/false)")


def get_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = get_str(env, name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not an integer") from None


def get_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = get_str(env, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name}={value!r} must be finite")
    return number


def parse_accounts(text: str | None, *, data_path: str | None = None) -> tuple[AccountConfig, ...]:
    """Parse ``alias=account_id[:type[:data_path]]`` items separated by ``,`` or ``;``.

    The data path is the rest of the item after the second ``:``, so Windows paths such as
    ``C:\\QMT\\userdata_mini`` survive (the published parser cut them at the drive letter).
    """
    if not text or not text.strip():
        return ()
    accounts = []
    for raw in text.replace(";", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        if "=" not in item:
            raise ConfigError(f"--accounts item {item!r} must look like alias=account_id[:type]")
        alias, rest = (part.strip() for part in item.split("=", 1))
        parts = rest.split(":", 2)
        account_id = parts[0].strip()
        account_type = parts[1].strip().lower() if len(parts) > 1 and parts[1].strip() else "stock"
        path = parts[2].strip() if len(parts) > 2 and parts[2].strip() else data_path
        if not alias or not account_id:
            raise ConfigError(f"--accounts item {item!r} needs both an alias and an account id")
        accounts.append(
            AccountConfig(
                key=alias, account_id=account_id, account_type=account_type, data_path=path
            )
        )
    keys = [a.key for a in accounts]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"--accounts has duplicate aliases: {keys}")
    return tuple(accounts)
