import pytest

from bullet_trade.wire.errors import MalformedMessage
from bullet_trade.wire.messages import (
    ErrorMessage,
    Ping,
    Request,
    UnknownMessage,
    parse_client_message,
    parse_handshake,
    parse_server_message,
)


def test_handshake_parsed() -> None:
    hs = parse_handshake(
        {"type": "handshake", "token": "t", "features": ["tick"], "account_key": "main"}
    )
    assert hs.token == "t" and hs.features == ("tick",) and hs.account_key == "main"


def test_first_frame_must_be_handshake() -> None:
    with pytest.raises(MalformedMessage):
        parse_handshake({"type": "request", "action": "admin.health"})


def test_missing_type_is_request_and_falsy_payload_is_empty() -> None:
    msg = parse_client_message({"id": "1", "action": "admin.health", "payload": None})
    assert msg == Request(id="1", action="admin.health", payload={})


def test_ping_and_unknown() -> None:
    assert parse_client_message({"type": "ping", "id": "p"}) == Ping("p")
    assert parse_client_message({"type": "bogus", "id": "b"}) == UnknownMessage("bogus", "b")


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "request", "id": "r"}, "action"),
        ({"action": 3}, "action"),
        ({"action": "a", "payload": [1]}, "payload"),
    ],
)
def test_bad_requests_name_the_field(frame: dict, field: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        parse_client_message(frame)
    assert info.value.field == field


def test_error_frame_id_only_when_truthy() -> None:
    assert "id" not in ErrorMessage("BAD_REQUEST", "x", id=None).to_wire()
    assert ErrorMessage("BAD_REQUEST", "x", id="r", fields={"field": "a"}).to_wire() == {
        "type": "error",
        "code": "BAD_REQUEST",
        "message": "x",
        "field": "a",
        "id": "r",
    }


def test_server_messages() -> None:
    err = parse_server_message(
        {
            "type": "error",
            "code": "UNKNOWN_ACCOUNT",
            "message": "m",
            "id": "1",
            "field": "account_key",
        }
    )
    assert isinstance(err, ErrorMessage) and err.fields == {"field": "account_key"}
    ack = parse_server_message(
        {"type": "handshake_ack", "session_id": "s1", "keepalive": 20, "features": ["data"]}
    )
    assert ack.to_wire()["features"] == ["data"]


def test_any_falsy_payload_is_empty_like_v1() -> None:
    for payload in (0, 0.0, "", [], False, None):
        assert parse_client_message({"action": "a", "payload": payload}).payload == {}


def test_handshake_repr_hides_the_token() -> None:
    assert "s3cret" not in repr(parse_handshake({"type": "handshake", "token": "s3cret"}))
