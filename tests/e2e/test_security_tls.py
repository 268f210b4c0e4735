"""TLS over real loopback sockets: the real client (CA file, pinned fingerprint) and raw peers."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import struct
from pathlib import Path
from typing import Any

import pytest
import trustme
from e2e_kit import TOKEN, ServerFactory

from bullet_trade.client import AsyncConnection
from bullet_trade.config import ClientConfig
from bullet_trade.errors import AuthFailed
from bullet_trade.server.security import SecuritySetupError

pytestmark = pytest.mark.e2e


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Any]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    for blob in cert.cert_chain_pems:
        with cert_file.open("ab") as handle:
            handle.write(blob.bytes())
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    return {
        "cert": cert_file,
        "key": key_file,
        "ca": str(ca_file),
        "fingerprint": hashlib.sha256(der).hexdigest(),
    }


def _client(port: int, **kw: Any) -> ClientConfig:
    return ClientConfig(port=port, token=TOKEN, connect_timeout=3.0, rpc_timeout=5.0, **kw)


async def test_tls_with_ca_file_and_pinned_fingerprint(start_server: ServerFactory, tls_files) -> None:
    running = await start_server(tls_cert=tls_files["cert"], tls_key=tls_files["key"])
    assert running.server.security.fingerprint == tls_files["fingerprint"]
    colon = ":".join(tls_files["fingerprint"][i : i + 2] for i in range(0, 64, 2)).upper()
    for config in (
        _client(running.port, tls_cert=tls_files["ca"]),
        _client(running.port, tls_fingerprint=tls_files["fingerprint"]),
        _client(running.port, tls_fingerprint=colon),
    ):
        async with AsyncConnection(config) as conn:
            health = await conn.request("admin.health")
            assert health["value"]["process_alive"] is True
            account = await conn.request("broker.account", {"account_key": "main"})
            assert account["account_id"] == "111"


async def test_tls_wrong_fingerprint_or_ca_rejected(
    start_server: ServerFactory, tls_files, tmp_path: Path
) -> None:
    running = await start_server(tls_cert=tls_files["cert"], tls_key=tls_files["key"])
    other_ca = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with pytest.raises(AuthFailed, match="fingerprint"):
        await AsyncConnection(_client(running.port, tls_fingerprint="ab" * 32)).connect()
    with pytest.raises(AuthFailed):
        await AsyncConnection(_client(running.port, tls_cert=str(other_ca))).connect()
    async with AsyncConnection(_client(running.port, tls_cert=tls_files["ca"])) as conn:
        assert (await conn.request("admin.health"))["value"]["process_alive"] is True


async def test_plaintext_client_to_tls_server_is_closed_cleanly(
    start_server: ServerFactory, tls_files
) -> None:
    running = await start_server(tls_cert=tls_files["cert"], tls_key=tls_files["key"])
    reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
    body = b'{"type":"handshake","token":"tok","protocol":1,"features":[]}'
    writer.write(struct.pack(">I", len(body)) + body)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 3.0)  # EOF: no v1 frame, only a TLS alert
    assert b"handshake_ack" not in data
    writer.close()
    # the real client is still served
    async with AsyncConnection(_client(running.port, tls_cert=tls_files["ca"])) as conn:
        assert (await conn.request("admin.health"))["value"]["process_alive"] is True


async def test_server_offers_tls_1_2_or_newer_only(start_server: ServerFactory, tls_files) -> None:
    running = await start_server(tls_cert=tls_files["cert"], tls_key=tls_files["key"])
    context = running.server.security.ssl_context
    assert context is not None and context.minimum_version >= ssl.TLSVersion.TLSv1_2
    client = ssl.create_default_context(cafile=tls_files["ca"])
    _, writer = await asyncio.open_connection("127.0.0.1", running.port, ssl=client)
    assert writer.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")
    writer.close()


async def test_bad_certificate_refuses_to_start(start_server: ServerFactory, tls_files) -> None:
    with pytest.raises(SecuritySetupError, match="does not exist"):
        await start_server(tls_cert=tls_files["cert"].with_name("none.pem"), tls_key=tls_files["key"])
