"""Fixtures for the JoinQuant-helper tests (see helper_kit)."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from helper_kit import TOKEN, Served, Tls, load_helper, start_served


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    result = start_served(tmp_path)
    try:
        yield result
    finally:
        result.close()


@pytest.fixture
def bt(served: Served) -> Iterator[Any]:
    """A fresh helper module; closed before the server stops (hence the dependency)."""
    module = load_helper()
    yield module
    module.close()


@pytest.fixture
def connected(bt: Any, served: Served) -> Any:
    """The helper configured against the loopback server (no retry pauses)."""
    bt.configure("127.0.0.1", TOKEN, port=served.port, retry_interval=0, rpc_timeout=10)
    return bt


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    cert_file, key_file = tmp_path / "server.crt", tmp_path / "server.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return Tls(server_context, str(ca_file), hashlib.sha256(der).hexdigest(), cert_file, key_file)
