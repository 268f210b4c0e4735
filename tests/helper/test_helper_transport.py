"""Transport behaviour: retries only on connection failures, exactly one order per key,
no retry after an error reply, connection reuse, TLS with a CA file or a pinned fingerprint."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import pytest
from helper_kit import TOKEN, Served, Tls, start_served

from bullet_trade.config import ServerConfig

pytestmark = pytest.mark.e2e

PINGAN = "000001.XSHE"


def _configure(bt: Any, port: int, **kw: Any) -> None:
    options: dict[str, Any] = {"port": port, "retry_interval": 0, "rpc_timeout": 10}
    options.update(kw)
    bt.configure("127.0.0.1", TOKEN, **options)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_is_reused_between_calls(bt: Any, served: Served) -> None:
    proxy = served.proxy()
    _configure(bt, proxy.port)
    bt.get_account()
    bt.get_positions()
    bt.order(PINGAN, 100)
    assert proxy.connections == 1
    handshake = proxy.requests[0]
    assert handshake == {"type": "handshake", "protocol": 1, "token": TOKEN, "features": []}
    ids = [r["id"] for r in proxy.requests[1:]]
    assert all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids)


def test_dropped_reply_is_retried_with_the_same_key_and_one_order(bt: Any, served: Served) -> None:
    proxy = served.proxy()
    proxy.drop_replies_to.append("broker.place_order")
    _configure(bt, proxy.port)
    order_id = bt.order(PINGAN, 100, idempotency_key="jq-key-1")
    assert proxy.actions().count("broker.place_order") == 2
    keys = [r["payload"]["idempotency_key"] for r in proxy.requests if r.get("action") == "broker.place_order"]
    assert keys == ["jq-key-1", "jq-key-1"]
    assert proxy.connections == 2
    assert served.order_count() == 1
    assert list(bt.get_orders()) == [order_id]


def test_generated_key_is_reused_across_retries(bt: Any, served: Served) -> None:
    proxy = served.proxy()
    proxy.drop_replies_to.append("broker.place_order")
    _configure(bt, proxy.port)
    bt.order(PINGAN, 100)
    keys = [r["payload"]["idempotency_key"] for r in proxy.requests if r.get("action") == "broker.place_order"]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith("bt-helper-")
    assert served.order_count() == 1


def test_lost_replies_surface_submit_unknown_then_status_by_key_resolves(
    bt: Any, served: Served
) -> None:
    proxy = served.proxy()
    proxy.drop_replies_to.extend(["broker.place_order"] * 2)
    _configure(bt, proxy.port, retries=1)
    with pytest.raises(bt.SubmitUnknownError) as caught:
        bt.order(PINGAN, 100)
    err = caught.value
    assert err.code == "SUBMIT_UNKNOWN" and err.idempotency_key.startswith("bt-helper-")
    assert isinstance(err, RuntimeError)
    status = bt.get_order_status(idempotency_key=err.idempotency_key)
    assert status["status"] == "filled"
    assert served.order_count() == 1
    assert bt.get_order_status(idempotency_key="never-used") == {}


@pytest.mark.parametrize("kind", ["rejected", "unknown_account"])
def test_error_reply_is_never_retried(bt: Any, served: Served, kind: str) -> None:
    proxy = served.proxy()
    if kind == "rejected":
        _configure(bt, proxy.port, retries=3)
        with pytest.raises(bt.OrderRejectedError) as caught:
            bt.order(PINGAN, 50)  # not a valid lot: the simulator rejects it
        assert caught.value.code == "ORDER_REJECTED" and caught.value.reason
        assert caught.value.idempotency_key
    else:
        _configure(bt, proxy.port, retries=3, account_key="nope")
        with pytest.raises(bt.RemoteServerError) as caught:
            bt.order(PINGAN, 100)
        assert caught.value.code == "UNKNOWN_ACCOUNT" and caught.value.field == "account_key"
    assert proxy.actions() == ["broker.place_order"]
    assert proxy.connections == 1
    assert served.order_count() == 0


def test_bad_token_is_not_retried(bt: Any, served: Served) -> None:
    proxy = served.proxy()
    bt.configure("127.0.0.1", "wrong", port=proxy.port, retries=3, retry_interval=0)
    with pytest.raises(bt.RemoteServerError) as caught:
        bt.get_account()
    assert caught.value.code == "AUTH_FAILED"
    assert proxy.connections == 1


def test_unreachable_server(bt: Any) -> None:
    _configure(bt, _free_port(), retries=1)
    with pytest.raises(bt.RemoteConnectionError) as caught:
        bt.get_account()
    assert caught.value.code == "CONNECTION_FAILED"
    with pytest.raises(bt.RemoteConnectionError):  # never sent: not "unknown"
        bt.order(PINGAN, 100)


def test_closed_idle_connection_is_replaced_without_spending_retries(
    bt: Any, served: Served
) -> None:
    proxy = served.proxy()
    _configure(bt, proxy.port, retries=0)
    bt.get_account()
    served.host.run(proxy.disconnect_all())
    assert bt.get_account().available_cash == 1_000_000.0
    assert proxy.connections == 2


def test_tls_with_pinned_fingerprint(bt: Any, served: Served, tls: Tls) -> None:
    proxy = served.proxy(tls.server_context)
    pin = ":".join(tls.fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()
    _configure(bt, proxy.port, tls_fingerprint=pin)
    assert bt.get_account().available_cash == 1_000_000.0
    assert bt.order(PINGAN, 100)
    _configure(bt, proxy.port, tls_fingerprint=tls.fingerprint.lower())
    assert bt.get_positions()[0].amount == 100


def test_tls_with_ca_file(bt: Any, served: Served, tls: Tls) -> None:
    proxy = served.proxy(tls.server_context)
    _configure(bt, proxy.port, tls_cert=tls.ca_file)
    assert bt.get_snapshot(PINGAN)["last_price"] > 0


def test_tls_wrong_pin_or_ca_is_refused_without_retry(
    bt: Any, served: Served, tls: Tls, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trustme

    proxy = served.proxy(tls.server_context)
    attempts: list[Any] = []
    real_connect = socket.create_connection

    def counting_connect(*args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(args[0])
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", counting_connect)
    _configure(bt, proxy.port, tls_fingerprint="ab" * 32, retries=3)
    with pytest.raises(bt.RemoteConnectionError) as caught:
        bt.get_account()
    assert caught.value.code == "TLS_FINGERPRINT_MISMATCH"
    assert len(attempts) == 1  # a wrong certificate is not transient: no retry
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    _configure(bt, proxy.port, tls_cert=str(other), retries=3)
    with pytest.raises(bt.RemoteConnectionError) as caught:
        bt.get_account()
    assert caught.value.code == "TLS_VERIFY_FAILED"
    assert len(attempts) == 2
    assert proxy.requests == []  # no token was ever sent to an unverified peer


def test_plain_client_against_tls_port_fails_cleanly(bt: Any, served: Served, tls: Tls) -> None:
    proxy = served.proxy(tls.server_context)
    _configure(bt, proxy.port, retries=0)
    with pytest.raises(bt.RemoteConnectionError):
        bt.get_account()


def test_tls_terminated_by_the_server_itself(bt: Any, tls: Tls, tmp_path: Path) -> None:
    """The same pinned-fingerprint setup against ``bullet-trade server --tls-cert/--tls-key``."""
    if "tls_cert" not in {f.name for f in dataclasses.fields(ServerConfig)}:
        pytest.skip("this server build has no TLS settings; covered through the TLS proxy")
    served = start_served(tmp_path / "runtime", tls_cert=tls.cert_file, tls_key=tls.key_file)
    try:
        _configure(bt, served.port, tls_fingerprint=tls.fingerprint.upper())
        assert bt.order(PINGAN, 100)
        assert bt.get_positions()[0].amount == 100
        bt.close()
    finally:
        served.close()
