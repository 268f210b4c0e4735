from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest
import trustme
from fake_qmt_server import FakeServer

from bullet_trade.client import AsyncConnection
from bullet_trade.errors import AuthFailed


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    return server_ctx, str(ca_file), hashlib.sha256(der).hexdigest()


async def test_tls_with_ca_and_pinned_fingerprint(tls, make_config) -> None:
    server_ctx, ca_file, fingerprint = tls
    async with FakeServer(ssl=server_ctx) as srv:
        colon = ":".join(fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()
        for cfg in (make_config(srv.port, tls_cert=ca_file),
                    make_config(srv.port, tls_fingerprint=colon)):
            async with AsyncConnection(cfg) as conn:
                assert await conn.request("admin.health") == {"ok": True}


async def test_tls_wrong_pin_or_ca_is_refused(tls, make_config, tmp_path: Path) -> None:
    server_ctx, _, _ = tls
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    async with FakeServer(ssl=server_ctx) as srv:
        with pytest.raises(AuthFailed):
            await AsyncConnection(make_config(srv.port, tls_fingerprint="00" * 32)).connect()
        with pytest.raises(AuthFailed):
            await AsyncConnection(make_config(srv.port, tls_cert=str(other))).connect()
        assert srv.handshakes == []
