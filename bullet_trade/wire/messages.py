"""Typed protocol messages and their conversion from/to the v1 dict shapes.

Conversion happens once, at the edge: drivers call :func:`parse_client_message` /
:func:`parse_server_message` on decoded JSON objects and ``to_wire()`` before encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bullet_trade.wire.errors import MalformedMessage

PROTOCOL_VERSION = 1

# ---------------------------------------------------------------- client → server


@dataclass(frozen=True, slots=True)
class Handshake:
    token: object = field(repr=False)
    protocol: object = PROTOCOL_VERSION
    features: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    account_key: str | None = None
    sub_account_id: str | None = None
    id: Any = None
    client_version: str | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "handshake",
            "token": self.token,
            "protocol": self.protocol,
            "features": list(self.features),
        }
        if self.extensions:
            out["extensions"] = list(self.extensions)
        _put_optional(out, "account_key", self.account_key)
        _put_optional(out, "sub_account_id", self.sub_account_id)
        _put_optional(out, "id", self.id)
        _put_optional(out, "client_version", self.client_version)
        return out


@dataclass(frozen=True, slots=True)
class Request:
    id: Any
    action: str
    payload: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"type": "request", "id": self.id, "action": self.action, "payload": self.payload}


@dataclass(frozen=True, slots=True)
class Ping:
    id: Any = None

    def to_wire(self) -> dict[str, Any]:
        return {"type": "ping", "id": self.id}


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A post-handshake frame whose ``type`` the protocol does not define."""

    type: str
    id: Any = None


ClientMessage = Handshake | Request | Ping | UnknownMessage

# ---------------------------------------------------------------- server → client


@dataclass(frozen=True, slots=True)
class HandshakeAck:
    session_id: str
    keepalive: int
    features: tuple[str, ...]
    extensions: tuple[str, ...] = ()
    server_instance: str | None = None
    server_version: str | None = None
    last_seq: int | None = None
    protocol: int = PROTOCOL_VERSION

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "handshake_ack",
            "session_id": self.session_id,
            "keepalive": self.keepalive,
            "protocol": self.protocol,
            "features": list(self.features),
            "extensions": list(self.extensions),
        }
        _put_optional(out, "server_instance", self.server_instance)
        _put_optional(out, "server_version", self.server_version)
        _put_optional(out, "last_seq", self.last_seq)
        return out


@dataclass(frozen=True, slots=True)
class Response:
    id: Any
    payload: Any

    def to_wire(self) -> dict[str, Any]:
        return {"type": "response", "id": self.id, "payload": self.payload}


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """``error`` frame. ``fields`` holds ``field``, ``reason``, ``retry_after`` and extras."""

    code: str
    message: str
    id: Any = None
    fields: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        for key, value in self.fields.items():
            out.setdefault(key, value)
        # v1: the id is present only when the failing frame had a truthy id
        if self.id:
            out["id"] = self.id
        return out


@dataclass(frozen=True, slots=True)
class Pong:
    id: Any = None

    def to_wire(self) -> dict[str, Any]:
        return {"type": "pong", "id": self.id}


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    payload: dict[str, Any]
    seq: int | None = None
    account_key: str | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "event", "event": self.event, "payload": self.payload}
        _put_optional(out, "seq", self.seq)
        _put_optional(out, "account_key", self.account_key)
        return out


ServerMessage = HandshakeAck | Response | ErrorMessage | Pong | Event

# ---------------------------------------------------------------- parsing


def _put_optional(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedMessage(f"{key} must be a string", field=key)
    return value


def _str_tuple(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedMessage(f"{key} must be a list of strings", field=key)
    return tuple(str(v) for v in value)


def parse_handshake(data: dict[str, Any]) -> Handshake:
    """The first frame of a session.

    Raises:
        MalformedMessage: the frame is not a handshake (v1 closes silently in that case).
    """
    if data.get("type") != "handshake":
        raise MalformedMessage("the first frame must be a handshake", field="type")
    version = data.get("client_version")
    return Handshake(
        token=data.get("token"),
        protocol=data.get("protocol", PROTOCOL_VERSION),
        features=_str_tuple(data, "features"),
        extensions=_str_tuple(data, "extensions"),
        account_key=_optional_str(data, "account_key"),
        sub_account_id=_optional_str(data, "sub_account_id"),
        id=data.get("id"),
        client_version=version if isinstance(version, str) else None,
    )


def parse_client_message(data: dict[str, Any]) -> Request | Ping | UnknownMessage:
    """A post-handshake frame. A missing ``type`` means ``request`` (v1 behaviour).

    Raises:
        MalformedMessage: a request without a usable ``action`` or with a non-object
            ``payload``; ``field`` names the culprit.
    """
    kind = data.get("type", "request")
    if kind is None:
        kind = "request"
    if kind == "ping":
        return Ping(id=data.get("id"))
    if kind != "request":
        return UnknownMessage(type=str(kind), id=data.get("id"))
    action = data.get("action")
    if not isinstance(action, str) or not action.strip():
        raise MalformedMessage("missing field action (缺少 action 字段)", field="action")
    payload = data.get("payload")
    if not payload and not isinstance(payload, dict):  # v1: any falsy payload means {}
        payload = {}
    if not isinstance(payload, dict):
        raise MalformedMessage("payload must be a JSON object", field="payload")
    return Request(id=data.get("id"), action=action.strip(), payload=payload)


def parse_server_message(data: dict[str, Any]) -> ServerMessage:
    """Frames a client receives.

    Raises:
        MalformedMessage: unknown ``type`` or a mistyped field.
    """
    kind = data.get("type")
    if kind == "response":
        return Response(id=data.get("id"), payload=data.get("payload"))
    if kind == "error":
        fields = {k: v for k, v in data.items() if k not in ("type", "code", "message", "id")}
        return ErrorMessage(
            code=str(data.get("code") or "INTERNAL"),
            message=str(data.get("message") or ""),
            id=data.get("id"),
            fields=fields,
        )
    if kind == "pong":
        return Pong(id=data.get("id"))
    if kind == "event":
        return _parse_event(data)
    if kind == "handshake_ack":
        return _parse_ack(data)
    raise MalformedMessage(f"unknown server message type {kind!r}", field="type")


def _parse_event(data: dict[str, Any]) -> Event:
    payload = data.get("payload")
    seq = data.get("seq")
    return Event(
        event=str(data.get("event") or ""),
        payload=payload if isinstance(payload, dict) else {},
        seq=seq if isinstance(seq, int) else None,
        account_key=data.get("account_key") if isinstance(data.get("account_key"), str) else None,
    )


def _parse_ack(data: dict[str, Any]) -> HandshakeAck:
    keepalive = data.get("keepalive")
    last_seq = data.get("last_seq")
    instance = data.get("server_instance")
    version = data.get("server_version")
    protocol = data.get("protocol")
    return HandshakeAck(
        session_id=str(data.get("session_id") or ""),
        keepalive=keepalive if isinstance(keepalive, int) else 20,
        features=_str_tuple(data, "features"),
        extensions=_str_tuple(data, "extensions"),
        server_instance=instance if isinstance(instance, str) else None,
        server_version=version if isinstance(version, str) else None,
        last_seq=last_seq if isinstance(last_seq, int) else None,
        protocol=protocol if isinstance(protocol, int) else PROTOCOL_VERSION,
    )
