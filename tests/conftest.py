"""Suite-wide fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bullet_trade.cli.logs import ACCESS_LOGGER


def _snapshot(logger: logging.Logger) -> tuple[list[logging.Handler], int, bool]:
    return list(logger.handlers), logger.level, logger.propagate


def _restore(logger: logging.Logger, saved: tuple[list[logging.Handler], int, bool]) -> None:
    handlers, level, propagate = saved
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in logger.handlers:
            logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """CLI entry points called in-process install their own handlers (the root's bound to
    the test's captured stderr, the access log's to a file, not propagating); put the
    previous set-up back so later tests neither log into a closed stream nor miss records."""
    loggers = [logging.getLogger(), logging.getLogger(ACCESS_LOGGER)]
    saved = [_snapshot(logger) for logger in loggers]
    yield
    for logger, state in zip(loggers, saved, strict=True):
        _restore(logger, state)
