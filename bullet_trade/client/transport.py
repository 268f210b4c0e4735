"""Opening one network link: TCP (optionally TLS with certificate pinning) plus the handshake.

Everything here either returns a ready link or raises with nothing left open.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ssl
from dataclasses import dataclass, field

from bullet_trade.config import MAX_FRAME_SIZE, ClientConfig
from bullet_trade.errors import AuthFailed, BulletTradeError, ConnectionLost, error_from_wire
from bullet_trade.wire.codec import decode_json, encode_json
from bullet_trade.wire.errors import WireError
from bullet_trade.wire.framing import FrameDecoder, encode_frame
from bullet_trade.wire.messages import Handshake, HandshakeAck, parse_server_message

READ_CHUNK = 256 * 1024

OpenedLinkParts = tuple[HandshakeAck, list[bytes]]


@dataclass(slots=True)
class OpenedLink:
    """A connected, authenticated stream and what the handshake told us."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ack: HandshakeAck
    decoder: FrameDecoder
    leftover: list[bytes] = field(default_factory=list)


def ssl_context(config: ClientConfig) -> ssl.SSLContext | None:
    """TLS context for ``config``: CA-verified when ``tls_cert`` is set; when only a
    fingerprint is pinned, the chain is not verified but the pin is checked after connect."""
    if config.tls_cert:
        return ssl.create_default_context(cafile=config.tls_cert)
    if config.tls_fingerprint:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return None


def _normalise_fingerprint(text: str) -> str:
    return text.replace(":", "").replace(" ", "").strip().lower()


def check_fingerprint(writer: asyncio.StreamWriter, expected: str) -> None:
    """Compare the server certificate's SHA-256 with the pinned value.

    Raises:
        AuthFailed: no certificate, or a different one (reason ``tls_fingerprint``).
    """
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise AuthFailed("the server presented no TLS certificate", reason="tls_fingerprint")
    actual = hashlib.sha256(der).hexdigest()
    if not hmac.compare_digest(actual, _normalise_fingerprint(expected)):
        raise AuthFailed(
            f"server certificate fingerprint {actual} does not match the pinned one",
            reason="tls_fingerprint",
        )


async def _open_stream(
    config: ClientConfig,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    context = ssl_context(config)
    try:
        reader, writer = await asyncio.open_connection(
            config.host, config.port, ssl=context, limit=READ_CHUNK
        )
    except ssl.SSLCertVerificationError as exc:
        raise AuthFailed(f"TLS certificate verification failed: {exc}", reason="tls") from exc
    except OSError as exc:
        raise ConnectionLost(
            f"cannot connect to {config.host}:{config.port}: {exc}", details={"sent": False}
        ) from exc
    if context is not None and config.tls_fingerprint:
        try:
            check_fingerprint(writer, config.tls_fingerprint)
        except BulletTradeError:
            await close_writer(writer)
            raise
    return reader, writer


async def _await_ack(reader: asyncio.StreamReader, decoder: FrameDecoder) -> OpenedLinkParts:
    while True:
        data = await reader.read(READ_CHUNK)
        if not data:
            raise ConnectionLost(
                "the server closed the connection during the handshake", details={"sent": False}
            )
        bodies = decoder.feed(data)
        for index, body in enumerate(bodies):
            frame = decode_json(body)
            if frame.get("type") == "error":
                raise error_from_wire(frame)
            if frame.get("type") == "handshake_ack":
                ack = parse_server_message(frame)
                assert isinstance(ack, HandshakeAck)
                return ack, bodies[index + 1 :]


async def open_link(config: ClientConfig, handshake: Handshake) -> OpenedLink:
    """Connect and authenticate, within ``config.connect_timeout``.

    Raises:
        AuthFailed / ServerBusy / ...: the server refused the handshake (typed from its frame).
        ConnectionLost: the server is unreachable, silent or closed the link (retryable).
    """
    reader, writer = await _open_stream(config)
    decoder = FrameDecoder(MAX_FRAME_SIZE)
    try:
        writer.write(encode_frame(encode_json(handshake.to_wire())))
        await writer.drain()
        ack, leftover = await _await_ack(reader, decoder)
    except BaseException as exc:
        await close_writer(writer)
        if isinstance(exc, (OSError, WireError)):
            raise ConnectionLost(f"handshake failed: {exc}", details={"sent": False}) from exc
        raise
    return OpenedLink(reader=reader, writer=writer, ack=ack, decoder=decoder, leftover=leftover)


async def connect_with_timeout(config: ClientConfig, handshake: Handshake) -> OpenedLink:
    """:func:`open_link` bounded by ``config.connect_timeout``."""
    try:
        return await asyncio.wait_for(open_link(config, handshake), config.connect_timeout)
    except asyncio.TimeoutError:
        raise ConnectionLost(
            f"no handshake with {config.host}:{config.port} within {config.connect_timeout:g}s",
            details={"sent": False},
        ) from None


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a stream, ignoring errors of an already broken transport."""
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()
