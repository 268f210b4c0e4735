from __future__ import annotations

from collections.abc import Callable

import pytest

from bullet_trade.config import ClientConfig


@pytest.fixture
def make_config() -> Callable[..., ClientConfig]:
    """ClientConfig for a fake server port, with short timeouts for fast tests."""

    def build(port: int, **overrides: object) -> ClientConfig:
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": port,
            "token": "secret",
            "rpc_timeout": 5.0,
            "connect_timeout": 2.0,
        }
        values.update(overrides)
        return ClientConfig(**values)  # type: ignore[arg-type]

    return build
