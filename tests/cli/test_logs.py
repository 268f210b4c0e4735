import logging
from pathlib import Path

from bullet_trade.cli.logs import ACCESS_LOGGER, FLUSH_EVERY, AccessLogFile, setup_logging


def test_access_lines_go_to_their_own_file_only(tmp_path: Path, capsys) -> None:
    access_file = setup_logging(tmp_path, filename="server.log")
    assert access_file is not None
    logging.getLogger("bullet_trade.server.orders").info("order placed")
    access = logging.getLogger(ACCESS_LOGGER)
    for i in range(FLUSH_EVERY):
        access.info("request %d", i)
    access_file.write("direct sink line")
    err = capsys.readouterr().err
    assert "order placed" in err and "request 0" not in err
    text = (tmp_path / "access.log").read_text(encoding="utf-8")
    assert f"request {FLUSH_EVERY - 1}" in text  # a full batch is flushed
    assert "request" not in (tmp_path / "server.log").read_text(encoding="utf-8")
    access_file.close()
    assert "direct sink line" in (tmp_path / "access.log").read_text(encoding="utf-8")


def test_access_file_rotates_by_size(tmp_path: Path) -> None:
    log = AccessLogFile(tmp_path / "access.log", max_bytes=2_000, backups=2)
    for i in range(200):
        log.write(f"line {i:04d} {'x' * 40}")
    log.close()
    assert (tmp_path / "access.log.1").exists() and (tmp_path / "access.log.2").exists()
    assert not (tmp_path / "access.log.3").exists()
    assert "line 0199" in (tmp_path / "access.log").read_text(encoding="utf-8")
    log.write("after close is ignored")
