import logging
from pathlib import Path

from bullet_trade.cli.logs import ACCESS_LOGGER, FLUSH_EVERY, setup_logging


def test_access_lines_go_to_their_own_file_only(tmp_path: Path, capsys) -> None:
    setup_logging(tmp_path, filename="server.log")
    logging.getLogger("bullet_trade.server.orders").info("order placed")
    access = logging.getLogger(ACCESS_LOGGER)
    for i in range(FLUSH_EVERY):
        access.info("request %d", i)
    err = capsys.readouterr().err
    assert "order placed" in err and "request 0" not in err
    text = (tmp_path / "access.log").read_text(encoding="utf-8")
    assert f"request {FLUSH_EVERY - 1}" in text  # a full batch is flushed
    assert "request" not in (tmp_path / "server.log").read_text(encoding="utf-8")


def test_batched_handler_rolls_over_by_size(tmp_path: Path) -> None:
    setup_logging(tmp_path)
    handler = logging.getLogger(ACCESS_LOGGER).handlers[0]
    handler.maxBytes = 2_000  # type: ignore[attr-defined]
    access = logging.getLogger(ACCESS_LOGGER)
    for i in range(200):
        access.info("line %04d %s", i, "x" * 40)
    handler.close()
    assert (tmp_path / "access.log.1").exists()
    assert "line 0199" in (tmp_path / "access.log").read_text(encoding="utf-8")
