"""``bullet-trade cert`` end to end: the generated certificate serves TLS to the real client."""

from __future__ import annotations

import stat
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bullet_trade.cli.main import main
from bullet_trade.client import AsyncConnection
from bullet_trade.config import ClientConfig, ServerConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.app import QmtServer


def _fingerprint(output: str) -> str:
    line = next(x for x in output.splitlines() if x.startswith("SHA-256 fingerprint:"))
    return line.split(":", 1)[1].strip()


async def test_cert_command_output_is_usable_by_server_and_client(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    assert main(["cert", "--out", str(out), "--host", "127.0.0.1", "--host", "qmt.example"]) == 0
    fingerprint = _fingerprint(capsys.readouterr().out)
    assert len(fingerprint) == 64
    if sys.platform != "win32":
        assert stat.S_IMODE((out / "key.pem").stat().st_mode) == 0o600
    config = ServerConfig(listen="127.0.0.1", port=0, token="tok", runtime_dir=tmp_path,
                          tls_cert=out / "cert.pem", tls_key=out / "key.pem")
    async with QmtServer(config, data=None, broker=None, clock=ManualClock(datetime(2026, 3, 18, 10, 0))) as server:
        assert server.security.fingerprint == fingerprint
        for extra in ({"tls_cert": str(out / "cert.pem")}, {"tls_fingerprint": fingerprint}):
            client = ClientConfig(port=server.port, token="tok", connect_timeout=3.0, **extra)
            async with AsyncConnection(client) as conn:
                assert (await conn.request("admin.health"))["value"]["process_alive"] is True


def test_cert_command_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cert", "--out", str(tmp_path)]) == 0
    first = (tmp_path / "cert.pem").read_bytes()
    assert main(["cert", "--out", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "cert.pem").read_bytes() == first
    assert main(["cert", "--out", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "cert.pem").read_bytes() != first


def test_server_refuses_bad_tls_files_with_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pem"
    code = main(["server", "--listen", "127.0.0.1", "--port", "0", "--runtime-dir", str(tmp_path),
                 "--server-type", "sim", "--tls-cert", str(missing), "--tls-key", str(missing)])
    assert code == 1
    assert "does not exist" in capsys.readouterr().err


def test_server_refuses_invalid_allowlist_and_tokens_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["server", "--listen", "127.0.0.1", "--port", "0", "--runtime-dir", str(tmp_path),
            "--server-type", "sim"]
    assert main([*base, "--allowlist", "10.0.0.0/8,office-pc"]) == 1
    assert "office-pc" in capsys.readouterr().err
    tokens = tmp_path / "tokens.toml"
    tokens.write_text('[tokens.jq]\ntoken = "0123456789abcdef0123"\nscopes = ["root"]\n')
    assert main([*base, "--tokens-file", str(tokens)]) == 1
    err = capsys.readouterr().err
    assert "root" in err and "0123456789abcdef0123" not in err
