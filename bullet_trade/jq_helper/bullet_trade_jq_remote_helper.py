# -*- coding: utf-8 -*-
"""bullet-trade JoinQuant remote helper: trade from a JoinQuant cloud strategy (模拟盘) through
``bullet-trade server`` running next to the broker.

Upload this single file to the root of your JoinQuant research space, then in the strategy::

    import bullet_trade_jq_remote_helper as bt

    def process_initialize(context):
        bt.configure("my.host.example", "my-token", tls_fingerprint="AB:CD:...")

    def trade(context):
        order_id = bt.order("000001.XSHE", 100)             # market buy of 100 shares
        bt.order("000001.XSHE", 100, price=11.2)            # limit buy
        print(bt.get_account().available_cash)

Constraints this file honours on purpose:

* standard library only (pandas is used for ``get_price`` when it can be imported);
* Python 3.6 syntax (JoinQuant's runtime may be old); no threads, no background tasks;
* quiet: nothing is printed unless ``configure(..., debug=True)``.

Transport: protocol v1 (4-byte big-endian length + UTF-8 JSON object), one connection kept and
reused between calls, a fresh one opened after any connection failure. Only connection-level
failures (connect, TLS, send, receive, EOF before the reply) are retried; an error *reply* from
the server is never retried. Every order carries an ``idempotency_key`` that is reused on each
retry, so a retry can never create a second order.

Errors: every failure raises a :class:`RemoteError` subclass (a ``RuntimeError``) with the
server's ``code`` and, when given, ``field`` and ``reason``:

* :class:`RemoteServerError` - the server answered with an error (``code`` from the server);
* :class:`OrderRejectedError` - the order was rejected (``ORDER_REJECTED``);
* :class:`SubmitUnknownError` - the order may or may not exist (``SUBMIT_UNKNOWN``); its
  ``idempotency_key`` resolves it with ``get_order_status(idempotency_key=...)``;
* :class:`RemoteConnectionError` - the server could not be reached after every retry.
"""

import datetime as _dt
import hashlib
import hmac
import json
import math
import os
import select
import socket
import ssl
import struct
import sys
import time

try:  # pandas is optional: only get_price() builds a DataFrame with it
    import pandas as _pd
except ImportError:  # pragma: no cover - depends on the runtime
    _pd = None

__version__ = "1.0.0"

__all__ = [
    "LimitOrderStyle",
    "MarketOrderStyle",
    "OrderRejectedError",
    "RemoteAccount",
    "RemoteConnectionError",
    "RemoteError",
    "RemoteOrder",
    "RemotePosition",
    "RemoteServerError",
    "RemoteTrade",
    "SubmitUnknownError",
    "cancel_order",
    "configure",
    "get_account",
    "get_broker_client",
    "get_data_client",
    "get_last_price",
    "get_open_orders",
    "get_order_status",
    "get_orders",
    "get_positions",
    "get_price",
    "get_snapshot",
    "get_trade_days",
    "get_trades",
    "install_jq_compat",
    "order",
    "order_percent",
    "order_target",
    "order_target_percent",
    "order_target_value",
    "order_value",
]

PROTOCOL_VERSION = 1
DEFAULT_PORT = 58620
MAX_FRAME_SIZE = 32 * 1024 * 1024
MIN_SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0
DEFAULT_PLACE_ORDER_MARGIN = 30.0
DEFAULT_COMPAT_WAIT = 16.0
PORTFOLIO_TTL = 1.0

#: Order statuses that mean "still working" (partly_filled included, unlike v1 clients).
OPEN_STATUSES = frozenset(["new", "submitted", "open", "filling", "partly_filled", "canceling"])
#: Placement results that mean the order did not go through.
FAILED_STATUSES = frozenset(["rejected", "canceled", "cancelled", "failed", "error"])

_JQ_SUFFIX = {"SH": "XSHG", "SZ": "XSHE", "XSHG": "XSHG", "XSHE": "XSHE", "BJ": "BJ"}


# --------------------------------------------------------------------------- errors


class RemoteError(RuntimeError):
    """Base of every error raised by this helper.

    Attributes:
        code: stable error code (the server's, or ``CONNECTION_FAILED`` / ``BAD_RESPONSE``).
        message: human-readable text.
        field: the offending input named by the server, or None.
        reason: machine-readable detail (e.g. why an order was rejected), or None.
        action: the protocol action that failed, or None.
        idempotency_key: the order's key when the failure concerns an order, else None.
    """

    def __init__(self, code, message, field=None, reason=None, action=None,
                 idempotency_key=None):
        self.code = code
        self.message = message
        self.field = field
        self.reason = reason
        self.action = action
        self.idempotency_key = idempotency_key
        text = "[{}] {}".format(code, message)
        if field:
            text += " (field={})".format(field)
        if reason:
            text += " (reason={})".format(reason)
        if idempotency_key:
            text += " (idempotency_key={})".format(idempotency_key)
        RuntimeError.__init__(self, text)


class RemoteConnectionError(RemoteError):
    """The server could not be reached, or the connection broke, on every attempt."""


class RemoteServerError(RemoteError):
    """The server answered with an error frame; never retried."""


class OrderRejectedError(RemoteServerError):
    """The broker or a server rule rejected the order (``ORDER_REJECTED``)."""


class SubmitUnknownError(RemoteError):
    """The order may or may not have reached the broker (``SUBMIT_UNKNOWN``).

    Never re-send blindly: ask ``get_order_status(idempotency_key=err.idempotency_key)``.
    """


class _TransportError(Exception):
    """Internal: a connection-level failure (retryable). ``maybe_sent`` is True when the
    request bytes may have reached the server."""

    def __init__(self, message, maybe_sent):
        Exception.__init__(self, message)
        self.maybe_sent = maybe_sent


def _error_from_frame(frame, action, key=None):
    code = str(frame.get("code") or "REQUEST_FAILED")
    message = str(frame.get("message") or code)
    field = frame.get("field")
    reason = frame.get("reason")
    if code == "SUBMIT_UNKNOWN":
        cls = SubmitUnknownError
    elif code == "ORDER_REJECTED":
        cls = OrderRejectedError
    else:
        cls = RemoteServerError
    return cls(code, message, field=field, reason=reason, action=action, idempotency_key=key)


# --------------------------------------------------------------------------- logging


_STATE = {"debug": False, "client": None}


def _debug(message, *args):
    if _STATE["debug"]:
        if args:
            message = message.format(*args)
        sys.stderr.write("[bt-helper] {}\n".format(message))


# --------------------------------------------------------------------------- transport


def _normalise_fingerprint(text):
    cleaned = "".join(ch for ch in str(text) if ch not in ": -\t").lower()
    if len(cleaned) != 64 or any(ch not in "0123456789abcdef" for ch in cleaned):
        raise ValueError("tls_fingerprint must be a SHA-256 hex digest (64 hex digits, "
                         "colons optional)")
    return cleaned


def _tls_context(tls_cert, fingerprint):
    if tls_cert:
        context = ssl.create_default_context(cafile=tls_cert)
    elif fingerprint:
        # Self-signed servers: the chain cannot be verified, the pinned digest replaces it.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        return None
    versions = getattr(ssl, "TLSVersion", None)  # Python 3.7+
    if versions is not None:
        context.minimum_version = versions.TLSv1_2  # novm (guarded above)
    return context


class _Connection(object):
    """One authenticated socket. Raises _TransportError for connection-level failures and
    RemoteError for error frames."""

    def __init__(self, settings):
        self._settings = settings
        self._sock = None
        self._next_id = 0
        self.session_id = None
        self.uses = 0

    def open(self):
        s = self._settings
        try:
            sock = socket.create_connection((s["host"], s["port"]), timeout=CONNECT_TIMEOUT)
        except (OSError, ValueError) as exc:
            raise _TransportError("connect to {}:{} failed: {}".format(
                s["host"], s["port"], exc), False) from exc
        try:
            if s["tls_context"] is not None:
                sock = self._wrap(sock)
            self._sock = sock
            self._handshake()
        except _TransportError as exc:
            sock.close()
            raise _TransportError("handshake failed: {}".format(exc), False) from exc
        except BaseException:
            self.close()
            sock.close()
            raise

    def _wrap(self, sock):
        s = self._settings
        try:
            sock.settimeout(CONNECT_TIMEOUT)
            tls = s["tls_context"].wrap_socket(sock, server_hostname=s["host"])
        except ssl.CertificateError as exc:
            raise RemoteConnectionError("TLS_VERIFY_FAILED", str(exc)) from exc
        except (OSError, ValueError) as exc:
            if getattr(exc, "reason", None) == "CERTIFICATE_VERIFY_FAILED":
                raise RemoteConnectionError("TLS_VERIFY_FAILED", str(exc)) from exc
            raise _TransportError("TLS handshake failed: {}".format(exc), False) from exc
        try:
            self._check_pin(tls)
        except BaseException:
            tls.close()
            raise
        return tls

    def _check_pin(self, sock):
        pinned = self._settings["fingerprint"]
        if not pinned:
            return
        der = sock.getpeercert(binary_form=True)
        actual = hashlib.sha256(der or b"").hexdigest()
        if not der or not hmac.compare_digest(actual, pinned):
            # A wrong certificate is not a transient failure: never retried.
            raise RemoteConnectionError(
                "TLS_FINGERPRINT_MISMATCH",
                "server certificate sha256 {} does not match the pinned fingerprint".format(
                    actual))

    def _handshake(self):
        s = self._settings
        hello = {"type": "handshake", "protocol": PROTOCOL_VERSION, "token": s["token"],
                 "features": []}
        if s["account_key"]:
            hello["account_key"] = s["account_key"]
        if s["sub_account_id"]:
            hello["sub_account_id"] = s["sub_account_id"]
        self._sock.settimeout(max(MIN_SOCKET_TIMEOUT, CONNECT_TIMEOUT))
        self._send(hello, False)
        while True:
            frame = self._recv()
            kind = frame.get("type")
            if kind == "handshake_ack":
                break
            if kind == "error":
                self.close()
                raise _error_from_frame(frame, "handshake")
        self.session_id = frame.get("session_id")
        if int(frame.get("protocol") or PROTOCOL_VERSION) > PROTOCOL_VERSION:
            _debug("server speaks protocol {}, this helper {}", frame.get("protocol"),
                   PROTOCOL_VERSION)
        _debug("connected to {}:{} session={}", s["host"], s["port"], self.session_id)

    def close(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    @property
    def is_open(self):
        return self._sock is not None

    def looks_alive(self):
        """False when the peer already closed an idle connection (readable with EOF)."""
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return False
        if not readable:
            return True
        # Nothing is expected between requests: readable means EOF, a reset, or junk.
        return False

    def request(self, action, payload, timeout, key=None):
        """Send one request and return the response payload."""
        self._next_id += 1
        request_id = str(self._next_id)
        self.uses += 1
        self._sock.settimeout(max(MIN_SOCKET_TIMEOUT, timeout))
        frame = {"type": "request", "id": request_id, "action": action, "payload": payload}
        self._send(frame, True)
        while True:
            reply = self._recv()
            kind = reply.get("type")
            if kind in ("event", "pong") or reply.get("id") != request_id:
                continue  # pushes and stale replies are not ours
            if kind == "response":
                return reply.get("payload")
            if kind == "error":
                raise _error_from_frame(reply, action, key)
            raise _TransportError("unexpected frame type {!r}".format(kind), True)

    def _send(self, message, is_request):
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(body) > MAX_FRAME_SIZE:
            raise ValueError("request too large ({} bytes)".format(len(body)))
        try:
            self._sock.sendall(struct.pack(">I", len(body)) + body)
        except (OSError, AttributeError) as exc:
            self.close()
            raise _TransportError("send failed: {}".format(exc), is_request) from exc

    def _recv_exact(self, size):
        chunks = []
        remaining = size
        while remaining:
            try:
                chunk = self._sock.recv(min(remaining, 1024 * 1024))
            except (OSError, AttributeError) as exc:
                self.close()
                raise _TransportError("receive failed: {}".format(exc), True) from exc
            if not chunk:
                self.close()
                raise _TransportError("connection closed by the server before the reply", True)
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _recv(self):
        (length,) = struct.unpack(">I", self._recv_exact(4))
        if length > MAX_FRAME_SIZE:
            self.close()
            raise _TransportError("frame of {} bytes exceeds the limit".format(length), True)
        try:
            frame = json.loads(self._recv_exact(length).decode("utf-8"))
        except ValueError as exc:
            self.close()
            raise _TransportError("undecodable frame: {}".format(exc), True) from exc
        if not isinstance(frame, dict):
            self.close()
            raise _TransportError("frame is not a JSON object", True)
        return frame


class _Client(object):
    """Request/retry policy over a reused :class:`_Connection`."""

    def __init__(self, settings):
        self.settings = settings
        self._conn = None

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self):
        conn = self._conn
        if conn is not None and conn.is_open and self.settings["reuse"] and conn.looks_alive():
            return conn, True
        self.close()
        conn = _Connection(self.settings)
        conn.open()
        self._conn = conn
        return conn, False

    def call(self, action, payload=None, timeout=None, key=None):
        """One request with the retry policy; returns the response payload.

        Raises:
            RemoteServerError (and subclasses): the server answered with an error.
            SubmitUnknownError: ``key`` was given and the request may have been delivered.
            RemoteConnectionError: every attempt failed at connection level.
        """
        s = self.settings
        timeout = s["rpc_timeout"] if timeout is None else timeout
        payload = dict(payload or {})
        attempts = s["retries"] + 1
        maybe_sent = False
        last = None
        attempt = 0
        while attempt < attempts:
            reused = False
            try:
                conn, reused = self._connection()
                _debug("-> {} {}", action, payload)
                result = conn.request(action, payload, timeout, key)
                _debug("<- {} {}", action, result)
                if not s["reuse"]:
                    self.close()
                return result
            except _TransportError as exc:
                self.close()
                maybe_sent = maybe_sent or exc.maybe_sent
                last = exc
                _debug("{} attempt {} failed: {}", action, attempt + 1, exc)
            except RemoteError:
                if not s["reuse"]:
                    self.close()
                raise
            if reused:
                continue  # a stale kept connection does not spend the retry budget
            attempt += 1
            if attempt < attempts and s["retry_interval"] > 0:
                time.sleep(s["retry_interval"])
        if key is not None and maybe_sent:
            raise SubmitUnknownError(
                "SUBMIT_UNKNOWN",
                "the order may have reached the server but no reply arrived ({}); "
                "check it with get_order_status(idempotency_key=...)".format(last),
                action=action, idempotency_key=key)
        raise RemoteConnectionError(
            "CONNECTION_FAILED",
            "{} failed after {} attempt(s): {}".format(action, attempts, last), action=action)


# --------------------------------------------------------------------------- helpers


def _norm_code(security):
    """JoinQuant form of a code: ``600000.SH`` / ``600000.xshg`` -> ``600000.XSHG``."""
    text = str(security).strip()
    if "." not in text:
        return text.upper()
    num, suffix = text.rsplit(".", 1)
    return "{}.{}".format(num, _JQ_SUFFIX.get(suffix.upper(), suffix.upper()))


def _lot_rule(security):
    """(minimum lot, step) of a buy: STAR board 200/1, Beijing 100/1, others 100/100."""
    code = _norm_code(security)
    num, _, suffix = code.partition(".")
    if suffix == "XSHG" and num[:3] in ("688", "689"):
        return 200, 1
    if suffix == "BJ":
        return 100, 1
    return 100, 100


def _round_buy(security, shares):
    minimum, step = _lot_rule(security)
    shares = int(shares) // step * step
    return shares if shares >= minimum else 0


def _round_sell(security, shares, closeable):
    """Never more than closeable; odd lots only when selling everything closeable."""
    shares = min(int(shares), int(closeable))
    if shares <= 0:
        return 0
    if shares == closeable:
        return shares
    minimum, step = _lot_rule(security)
    shares = shares // step * step
    return shares if shares >= minimum else 0


def _num(value, default=0.0):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(number) else number


def _first(row, names, default=None):
    for name in names:
        value = row.get(name)
        if value is not None:
            return value
    return default


def _unwrap(payload):
    """``{"dtype":"dict","value":{...}}`` -> the inner dict (top level as fallback)."""
    if isinstance(payload, dict) and payload.get("dtype") == "dict":
        inner = payload.get("value")
        if isinstance(inner, dict):
            return inner
    return payload if isinstance(payload, dict) else {}


def _date_text(value):
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, _dt.date):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "isoformat"):
        return str(value.isoformat()).replace("T", " ")
    return str(value)


def _new_key(*parts):
    seed = "|".join(str(p) for p in parts) + "|{}|{}".format(time.time(), os.urandom(16))
    return "bt-helper-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]


class _Record(object):
    """Attribute bag with a readable repr and ``to_dict()``."""

    _fields = ()

    def to_dict(self):
        return dict((name, getattr(self, name)) for name in self._fields)

    def get(self, name, default=None):
        return getattr(self, name, default)

    def __eq__(self, other):
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        shown = ", ".join("{}={!r}".format(n, getattr(self, n)) for n in self._fields[:6])
        return "{}({})".format(type(self).__name__, shown)


class RemoteOrder(_Record):
    """An order as the server reports it.

    ``amount``/``price`` are what was requested (shares; limit or protective price, None for
    a plain market order); ``actual_amount``/``actual_price`` the server's values;
    ``raw_response`` the server's dict.
    """

    _fields = ("order_id", "status", "security", "amount", "price", "actual_amount",
               "actual_price", "filled", "is_buy", "order_remark", "strategy_name",
               "timed_out", "async_tracking", "last_snapshot", "idempotency_key", "warning",
               "raw_response")

    def __init__(self, row, amount=None, price=None, key=None):
        row = row or {}
        self.order_id = str(row.get("order_id") or "")
        self.status = str(row.get("status") or "")
        self.security = row.get("security")
        self.actual_amount = int(_num(_first(row, ("amount", "volume")), 0))
        self.actual_price = _num(_first(row, ("price", "order_price")), 0.0)
        self.amount = self.actual_amount if amount is None else int(amount)
        self.price = row.get("order_price") if price is None else price
        self.filled = int(_num(_first(row, ("filled", "traded_volume")), 0))
        side = str(row.get("side") or "").upper()
        self.is_buy = bool(row["is_buy"]) if "is_buy" in row else side != "SELL"
        self.order_remark = row.get("order_remark")
        self.strategy_name = row.get("strategy_name")
        self.timed_out = bool(row.get("timed_out", False))
        self.async_tracking = bool(row.get("async_tracking", False))
        self.last_snapshot = row.get("last_snapshot")
        self.idempotency_key = row.get("idempotency_key") or key
        self.warning = row.get("warning")
        self.raw_response = row


class RemoteTrade(_Record):
    """One fill."""

    _fields = ("trade_id", "order_id", "security", "amount", "price", "time", "commission",
               "tax")

    def __init__(self, row):
        self.order_id = str(row.get("order_id") or "")
        self.security = row.get("security")
        self.amount = int(_num(_first(row, ("amount", "volume")), 0))
        self.price = _num(_first(row, ("price", "traded_price", "trade_price")), 0.0)
        self.time = row.get("time")
        self.commission = _num(_first(row, ("commission", "commission_fee")), 0.0)
        self.tax = _num(row.get("tax"), 0.0)
        trade_id = row.get("trade_id")
        if not trade_id:
            seed = "{}-{}-{}-{}".format(self.order_id, self.time, self.price, self.amount)
            trade_id = hashlib.md5(seed.encode("utf-8")).hexdigest()[:16]
        self.trade_id = str(trade_id)


class RemoteAccount(_Record):
    """The account's cash and value (the whole parent account)."""

    _fields = ("available_cash", "total_value", "frozen_cash", "market_value", "account_id",
               "account_type")

    def __init__(self, info):
        self.available_cash = _num(_first(info, ("available_cash", "cash", "available")), 0.0)
        self.total_value = _num(_first(info, ("total_value", "total_asset")), 0.0)
        self.frozen_cash = _num(_first(info, ("frozen_cash", "locked_cash")), 0.0)
        self.market_value = _num(info.get("market_value"), 0.0)
        self.account_id = info.get("account_id")
        self.account_type = info.get("account_type")
        self.raw = info


class RemotePosition(_Record):
    """One holding. ``available`` is the closeable (sellable today) amount; ``market`` the
    exchange suffix of the code."""

    _fields = ("security", "amount", "available", "frozen", "avg_cost", "price",
               "market_value", "market")

    def __init__(self, row):
        self.security = row.get("security")
        self.amount = int(_num(_first(row, ("amount", "volume")), 0))
        self.available = int(_num(_first(
            row, ("closeable_amount", "available_amount", "available", "can_use_volume")), 0))
        frozen = row.get("frozen_volume")
        self.frozen = int(_num(frozen, 0)) if frozen else max(self.amount - self.available, 0)
        self.avg_cost = _num(_first(row, ("avg_cost", "cost_basis")), 0.0)
        self.price = _num(_first(row, ("current_price", "last_price")), 0.0)
        self.market_value = _num(_first(row, ("market_value", "position_value")), 0.0)
        self.market = _norm_code(self.security or "").partition(".")[2] or None
        self.raw = row


class MarketOrderStyle(object):
    """JoinQuant market order; ``limit_price`` is the protective price (optional)."""

    def __init__(self, limit_price=None):
        self.limit_price = limit_price


class LimitOrderStyle(object):
    """JoinQuant limit order at ``limit_price``."""

    def __init__(self, limit_price):
        self.limit_price = limit_price


def _is_style(value):
    name = type(value).__name__
    return name in ("MarketOrderStyle", "LimitOrderStyle") or (
        hasattr(value, "limit_price") and not isinstance(value, (int, float)))


def _order_style(price, style, market):
    """Wire ``style`` for the order plus the price to estimate its value, or ValueError."""
    if style is None and price is not None and _is_style(price):
        style, price = price, None
    if style is not None:
        kind = type(style).__name__
        if "Stop" in kind:
            raise NotImplementedError("stop orders are not supported by the remote helper")
        limit = getattr(style, "limit_price", None)
        if kind == "LimitOrderStyle":
            if limit is None:
                raise ValueError("LimitOrderStyle needs a limit_price")
            return {"type": "limit", "price": float(limit)}, float(limit)
        if kind == "MarketOrderStyle" or limit is None:
            wire = {"type": "market"}
            if limit is not None:
                wire["protect_price"] = float(limit)
            return wire, (float(limit) if limit is not None else None)
        return {"type": "limit", "price": float(limit)}, float(limit)
    if market is None:
        market = price is None
    if market:
        wire = {"type": "market"}
        if price is not None:
            wire["protect_price"] = float(price)
        return wire, (float(price) if price is not None else None)
    if price is None:
        raise ValueError("a limit order needs a price")
    return {"type": "limit", "price": float(price)}, float(price)


# --------------------------------------------------------------------------- data client


class RemoteDataClient(object):
    """Market data from the server (``data.*`` actions)."""

    def __init__(self, client):
        self._client = client

    def get_snapshot(self, security):
        """``{sid, last_price, dt}`` of ``security`` (a dict)."""
        return _unwrap(self._client.call("data.snapshot", {"security": _norm_code(security)}))

    def get_live_current(self, security):
        """Today's quote: last_price, high_limit, low_limit, paused, ... (a dict)."""
        return _unwrap(self._client.call("data.live_current",
                                         {"security": _norm_code(security)}))

    def get_last_price(self, security):
        """Last traded price (float); RemoteError ``NO_PRICE`` when the server has none."""
        for fetch in (self.get_snapshot, self.get_live_current):
            price = _num(_first(fetch(security), ("last_price", "lastPrice", "price")), 0.0)
            if price > 0:
                return price
        raise RemoteError("NO_PRICE", "no usable last price for {}".format(security))

    def get_trade_days(self, start_date=None, end_date=None, count=None):
        """Trading days as a list of ``datetime.date``, ascending."""
        payload = {"start": _date_text(start_date), "end": _date_text(end_date)}
        if count is not None:
            payload["count"] = int(count)
        reply = self._client.call("data.trade_days", payload)
        values = reply.get("values", reply.get("value")) if isinstance(reply, dict) else reply
        return [_dt.datetime.strptime(str(v)[:10], "%Y-%m-%d").date() for v in values or []]

    def get_price(self, security, start_date=None, end_date=None, frequency="daily",
                  fields=None, skip_paused=False, fq="pre", count=None, panel=True,
                  fill_paused=True):
        """JoinQuant ``get_price``: a pandas DataFrame indexed by time (a list of row dicts
        when pandas is missing). ``security`` may be a code or a list of codes."""
        codes = ([_norm_code(c) for c in security] if isinstance(security, (list, tuple))
                 else _norm_code(security))
        payload = {"security": codes, "start": _date_text(start_date),
                   "end": _date_text(end_date), "frequency": frequency,
                   "fields": list(fields) if isinstance(fields, (list, tuple)) else fields,
                   "skip_paused": bool(skip_paused), "fq": fq, "panel": bool(panel),
                   "fill_paused": bool(fill_paused)}
        if count is not None:
            payload["count"] = int(count)
        return _frame(self._client.call("data.history", payload))


def _frame(envelope):
    if not isinstance(envelope, dict) or envelope.get("dtype") != "dataframe":
        return _pd.DataFrame() if _pd is not None else []
    columns = list(envelope.get("columns") or [])
    records = envelope.get("records") or []
    index_cols = list(envelope.get("index_columns") or [])
    if _pd is None:
        return [dict((columns[i], value) for i, value in enumerate(row)) for row in records]
    frame = _pd.DataFrame(records, columns=columns)
    if index_cols and all(c in frame.columns for c in index_cols):
        dtypes = list(envelope.get("index_dtypes") or [])
        for pos, col in enumerate(index_cols):
            if pos < len(dtypes) and str(dtypes[pos]).startswith("datetime64"):
                frame[col] = _pd.to_datetime(frame[col])
        frame = frame.set_index(index_cols)
        names = list(envelope.get("index_names") or [])
        if len(names) == len(index_cols):
            frame.index.names = names
        columns = [c for c in columns if c not in index_cols]
    tuples = envelope.get("column_tuples")
    if tuples:
        names = list(envelope.get("columns") or [])
        kept = [tuple(t) for i, t in enumerate(tuples)
                if i < len(names) and names[i] not in index_cols]
        if len(kept) == len(frame.columns):
            frame.columns = _pd.MultiIndex.from_tuples(
                kept, names=envelope.get("column_index_names"))
    return frame


# --------------------------------------------------------------------------- broker client


class RemoteBrokerClient(object):
    """Trading through the server (``broker.*`` actions)."""

    def __init__(self, client, data):
        self._client = client
        self._data = data

    def _routing(self, payload):
        s = self._client.settings
        if s["account_key"]:
            payload["account_key"] = s["account_key"]
        if s["sub_account_id"]:
            payload["sub_account_id"] = s["sub_account_id"]
        return payload

    # reads ---------------------------------------------------------------

    def get_account(self):
        return RemoteAccount(_unwrap(self._client.call("broker.account", self._routing({}))))

    def get_positions(self):
        rows = self._client.call("broker.positions", self._routing({})) or []
        return [RemotePosition(row) for row in rows if isinstance(row, dict)]

    def get_orders(self, order_id=None, security=None, status=None, from_broker=False):
        payload = self._routing({})
        if order_id is not None:
            payload["order_id"] = str(order_id)
        if security is not None:
            payload["security"] = _norm_code(security)
        if status is not None:
            payload["status"] = str(getattr(status, "value", status))
        rows = self._client.call("broker.orders", payload) or []
        result = {}
        for row in rows:
            if isinstance(row, dict):
                item = RemoteOrder(row)
                result[item.order_id] = item
        return result

    def get_open_orders(self):
        return dict((oid, o) for oid, o in self.get_orders().items()
                    if o.status in OPEN_STATUSES)

    def get_trades(self, order_id=None, security=None):
        payload = self._routing({})
        if order_id is not None:
            payload["order_id"] = str(order_id)
        if security is not None:
            payload["security"] = _norm_code(security)
        rows = self._client.call("broker.trades", payload) or []
        trades = [RemoteTrade(row) for row in rows if isinstance(row, dict)]
        return dict((t.trade_id, t) for t in trades)

    def get_order_status(self, order_id=None, idempotency_key=None):
        """The server's order row (a dict; ``{}`` when unknown)."""
        if order_id is None and not idempotency_key:
            raise ValueError("give order_id or idempotency_key")
        payload = self._routing({})
        if order_id is not None:
            payload["order_id"] = str(getattr(order_id, "order_id", order_id))
        if idempotency_key:
            payload["idempotency_key"] = str(idempotency_key)
        reply = self._client.call("broker.order_status", payload)
        return reply if isinstance(reply, dict) else {}

    def cancel_order(self, order_id, wait_timeout=None):
        """The server's reply dict: ``value`` is True when the cancel was accepted."""
        oid = str(getattr(order_id, "order_id", order_id))
        payload = self._routing({"order_id": oid,
                                 "idempotency_key": _new_key("cancel", oid)})
        timeout = self._client.settings["rpc_timeout"]
        if wait_timeout is not None:
            payload["wait_timeout"] = float(wait_timeout)
            timeout = max(timeout, float(wait_timeout) + self._client.settings["margin"])
        reply = self._client.call("broker.cancel_order", payload, timeout=timeout)
        return reply if isinstance(reply, dict) else {"dtype": "dict", "value": bool(reply)}

    # orders --------------------------------------------------------------

    def place(self, security, amount, price=None, side=None, wait_timeout=0, style=None,
              market=None, remark=None, order_remark=None, idempotency_key=None):
        """Submit one order of ``amount`` shares; returns a RemoteOrder (None if 0 shares)."""
        amount = int(amount)
        if side is None or str(side).lower() == "long":
            is_buy = amount > 0
        elif str(side).upper() in ("BUY", "SELL"):
            is_buy = str(side).upper() == "BUY"
        else:
            raise NotImplementedError("side {!r} is not supported (stocks/ETFs long only)"
                                      .format(side))
        shares = abs(amount)
        if shares == 0:
            return None
        wire_style, limit = _order_style(price, style, market)
        key = str(idempotency_key) if idempotency_key else _new_key(security, amount, side)
        wait = max(0.0, float(wait_timeout or 0))
        payload = self._routing({
            "security": _norm_code(security), "amount": shares,
            "side": "BUY" if is_buy else "SELL", "style": wire_style,
            "market": wire_style["type"] == "market", "wait_timeout": wait,
            "idempotency_key": key})
        if wire_style["type"] == "limit":
            payload["price"] = wire_style["price"]
        note = order_remark or remark
        if note:
            payload["order_remark"] = str(note)
        s = self._client.settings
        timeout = max(s["rpc_timeout"], wait + s["margin"])
        reply = self._client.call("broker.place_order", payload, timeout=timeout, key=key)
        return self._accepted(reply, shares, limit, key)

    @staticmethod
    def _accepted(reply, shares, limit, key):
        row = reply if isinstance(reply, dict) else {}
        placed = RemoteOrder(row, amount=shares, price=limit, key=key)
        status = placed.status.lower()
        if status == "submit_unknown" or not placed.order_id:
            raise SubmitUnknownError("SUBMIT_UNKNOWN", "the server could not confirm the order",
                                     action="broker.place_order", idempotency_key=key)
        if status in FAILED_STATUSES:
            raise OrderRejectedError("ORDER_REJECTED", "order {} ended {}: {}".format(
                placed.order_id, status, row.get("status_msg") or row.get("reason") or ""),
                reason=row.get("reason") or status, action="broker.place_order",
                idempotency_key=key)
        if placed.warning:
            _debug("server warning: {}", placed.warning)
        return placed

    def price_for(self, security, limit):
        return float(limit) if limit else self._data.get_last_price(security)

    def position_of(self, security):
        code = _norm_code(security)
        for pos in self.get_positions():
            if _norm_code(pos.security or "") == code:
                return pos
        return None

    def shares_for_value(self, security, value, price, style, market, side):
        """Signed share delta for a money amount, lot-rounded and capped at closeable."""
        _, limit = _order_style(price, style, market)
        p = self.price_for(security, limit)
        selling = value < 0 or (side is not None and str(side).upper() == "SELL")
        shares = int(abs(float(value)) / p) if p > 0 else 0
        if selling:
            pos = self.position_of(security)
            return -_round_sell(security, shares, pos.available if pos else 0)
        return _round_buy(security, shares)

    def delta_to_target(self, security, target):
        """Signed share delta from the current holding to ``target`` shares."""
        pos = self.position_of(security)
        held = pos.amount if pos else 0
        closeable = pos.available if pos else 0
        target = max(int(target), 0)
        if target >= held:
            return _round_buy(security, target - held)
        if target == 0:
            return -_round_sell(security, closeable, closeable)
        return -_round_sell(security, held - target, closeable)


# --------------------------------------------------------------------------- module API


def configure(host, token, *, port=DEFAULT_PORT, account_key=None, sub_account_id=None,
              tls_cert=None, tls_fingerprint=None, retries=2, retry_interval=0.5,
              rpc_timeout=60.0, place_order_timeout_margin=DEFAULT_PLACE_ORDER_MARGIN,
              reuse_connection=True, debug=False):
    """Set where the server is. Call it in ``process_initialize`` (runs on every restart).

    Args:
        host / port: the server address (default port 58620).
        token: the server's token.
        account_key / sub_account_id: account routing sent with every broker request.
        tls_cert: CA (or self-signed certificate) file: TLS with full verification.
        tls_fingerprint: SHA-256 of the server certificate (hex, any case, colons optional):
            TLS with the certificate pinned instead of CA-verified (self-signed servers).
        retries / retry_interval: extra attempts after a connection-level failure, and the
            pause between them (seconds). Error replies are never retried.
        rpc_timeout: seconds to wait for a reply (at least 5).
        place_order_timeout_margin: added to an order's ``wait_timeout`` for its reply.
        reuse_connection: keep one connection between calls (default True).
        debug: print each request and reply to stderr (default False: silent).
    """
    if not host or not token:
        raise ValueError("host and token are required")
    if int(retries) < 0 or float(retry_interval) < 0:
        raise ValueError("retries and retry_interval must be >= 0")
    fingerprint = _normalise_fingerprint(tls_fingerprint) if tls_fingerprint else None
    settings = {
        "host": str(host), "port": int(port), "token": str(token),
        "account_key": account_key, "sub_account_id": sub_account_id,
        "tls_context": _tls_context(tls_cert, fingerprint),
        "fingerprint": fingerprint, "retries": int(retries),
        "retry_interval": float(retry_interval),
        "rpc_timeout": max(MIN_SOCKET_TIMEOUT, float(rpc_timeout)),
        "margin": max(0.0, float(place_order_timeout_margin)),
        "reuse": bool(reuse_connection),
    }
    old = _STATE.get("client")
    if old is not None:
        old["raw"].close()
    raw = _Client(settings)
    data = RemoteDataClient(raw)
    _STATE["client"] = {"raw": raw, "data": data, "broker": RemoteBrokerClient(raw, data)}
    _STATE["debug"] = bool(debug)
    _debug("configured {}:{} tls={}", host, settings["port"],
           settings["tls_context"] is not None)


def _configured(name):
    state = _STATE.get("client")
    if state is None:
        raise RuntimeError("call bullet_trade_jq_remote_helper.configure(...) first")
    return state[name]


def get_data_client():
    """The configured :class:`RemoteDataClient` (RuntimeError before ``configure``)."""
    return _configured("data")


def get_broker_client():
    """The configured :class:`RemoteBrokerClient` (RuntimeError before ``configure``)."""
    return _configured("broker")


def close():
    """Close the kept connection (optional; the next call reconnects)."""
    state = _STATE.get("client")
    if state is not None:
        state["raw"].close()


def _check_jq_args(side, pindex, close_today):
    if side is not None and str(side).lower() == "short":
        raise NotImplementedError("short positions are not supported")
    if pindex:
        raise NotImplementedError("pindex != 0 (subportfolios) is not supported")
    if close_today:
        raise NotImplementedError("close_today is not supported")


def _submit(security, shares, price, wait_timeout, style, market, remark, order_remark,
            idempotency_key):
    return get_broker_client().place(
        security, shares, price=price, wait_timeout=wait_timeout, style=style, market=market,
        remark=remark, order_remark=order_remark, idempotency_key=idempotency_key)


def _order_id(placed):
    return placed.order_id if placed is not None else ""


def _place_value(security, value, price, wait_timeout, style, side, pindex, close_today,
                 market, remark, order_remark, idempotency_key):
    _check_jq_args(side, pindex, close_today)
    broker = get_broker_client()
    shares = broker.shares_for_value(security, value, price, style, market, side)
    return _submit(security, shares, price, wait_timeout, style, market, remark, order_remark,
                   idempotency_key)


def _place_target(security, target, price, wait_timeout, style, side, pindex, close_today,
                  market, remark, order_remark, idempotency_key):
    _check_jq_args(side, pindex, close_today)
    delta = get_broker_client().delta_to_target(security, target)
    return _submit(security, delta, price, wait_timeout, style, market, remark, order_remark,
                   idempotency_key)


def _target_shares(security, target_value, price, style, market):
    broker = get_broker_client()
    _, limit = _order_style(price, style, market)
    p = broker.price_for(security, limit)
    return int(max(float(target_value), 0.0) / p) if p > 0 else 0


def order(security, amount, price=None, side=None, wait_timeout=0, *, style=None,
          market=None, remark=None, order_remark=None, idempotency_key=None):
    """Buy (amount > 0) or sell (amount < 0) ``amount`` shares; returns the order id (str),
    ``""`` when amount is 0. ``price`` alone makes a limit order, no price a market order;
    ``market=True`` with a price makes it the protective price. ``style``/``price`` also take
    ``MarketOrderStyle``/``LimitOrderStyle``."""
    if side is not None and str(side).lower() == "short":
        raise NotImplementedError("short positions are not supported")
    return _order_id(get_broker_client().place(
        security, amount, price=price, side=side, wait_timeout=wait_timeout, style=style,
        market=market, remark=remark, order_remark=order_remark,
        idempotency_key=idempotency_key))


def order_value(security, value, price=None, wait_timeout=0, *, style=None, side=None,
                pindex=0, close_today=False, market=None, remark=None, order_remark=None,
                idempotency_key=None):
    """Trade ``value`` yuan of ``security`` (negative sells), lot-rounded down; order id."""
    return _order_id(_place_value(security, value, price, wait_timeout, style, side, pindex,
                                  close_today, market, remark, order_remark, idempotency_key))


def order_percent(security, percent, price=None, wait_timeout=0, *, style=None, side=None,
                  pindex=0, close_today=False, market=None, remark=None, order_remark=None,
                  idempotency_key=None):
    """Trade ``percent`` (0.1 = 10 %) of the account's total value; order id."""
    value = get_broker_client().get_account().total_value * float(percent)
    return order_value(security, value, price, wait_timeout, style=style, side=side,
                       pindex=pindex, close_today=close_today, market=market, remark=remark,
                       order_remark=order_remark, idempotency_key=idempotency_key)


def order_target(security, target, price=None, wait_timeout=0, *, style=None, side=None,
                 pindex=0, close_today=False, market=None, remark=None, order_remark=None,
                 idempotency_key=None):
    """Trade towards holding ``target`` shares; order id, ``""`` when nothing to do."""
    return _order_id(_place_target(security, target, price, wait_timeout, style, side, pindex,
                                   close_today, market, remark, order_remark, idempotency_key))


def order_target_value(security, target_value=None, price=None, wait_timeout=0, *,
                       style=None, side=None, pindex=0, close_today=False, market=None, remark=None,
                       order_remark=None, idempotency_key=None, value=None):
    """Trade towards holding ``target_value`` yuan (``value=`` is an alias); order id."""
    if value is not None and target_value is not None:
        raise TypeError("give target_value or value, not both")
    target_value = value if target_value is None else target_value
    if target_value is None:
        raise TypeError("target_value is required")
    shares = _target_shares(security, target_value, price, style, market)
    return order_target(security, shares, price, wait_timeout, style=style, side=side,
                        pindex=pindex, close_today=close_today, market=market, remark=remark,
                        order_remark=order_remark, idempotency_key=idempotency_key)


def order_target_percent(security, percent, price=None, wait_timeout=0, *, style=None,
                         side=None, pindex=0, close_today=False, market=None, remark=None,
                         order_remark=None, idempotency_key=None):
    """Trade towards holding ``percent`` of the total value; order id."""
    value = get_broker_client().get_account().total_value * float(percent)
    return order_target_value(security, value, price, wait_timeout, style=style, side=side,
                              pindex=pindex, close_today=close_today, market=market,
                              remark=remark, order_remark=order_remark,
                              idempotency_key=idempotency_key)


def cancel_order(order_id):
    """Cancel an order (id or RemoteOrder); the server's reply dict (``value`` True when the
    cancel was accepted, ``status`` the order's status)."""
    return get_broker_client().cancel_order(order_id)


def get_order_status(order_id=None, idempotency_key=None):
    """The order's row as the server has it (a dict, ``{}`` when unknown). With
    ``idempotency_key`` it finds an order whose placement reply was lost (SUBMIT_UNKNOWN)."""
    return get_broker_client().get_order_status(order_id, idempotency_key)


def get_orders(order_id=None, security=None, status=None, from_broker=False):
    """``{order_id: RemoteOrder}`` of today's orders, optionally filtered."""
    return get_broker_client().get_orders(order_id, security, status, from_broker)


def get_open_orders():
    """``{order_id: RemoteOrder}`` of orders still working. Iterate ``.values()`` (or
    ``.items()``) to get the orders: the keys are order id strings."""
    return get_broker_client().get_open_orders()


def get_trades(order_id=None, security=None):
    """``{trade_id: RemoteTrade}`` of today's fills."""
    return get_broker_client().get_trades(order_id, security)


def get_account():
    """:class:`RemoteAccount` (``available_cash``, ``total_value``, ...)."""
    return get_broker_client().get_account()


def get_positions():
    """A list of :class:`RemotePosition`."""
    return get_broker_client().get_positions()


def get_price(security, start_date=None, end_date=None, frequency="daily", fields=None,
              skip_paused=False, fq="pre", count=None, panel=True, fill_paused=True):
    """History from the server's market data (see :meth:`RemoteDataClient.get_price`)."""
    return get_data_client().get_price(security, start_date, end_date, frequency, fields,
                                       skip_paused, fq, count, panel, fill_paused)


def get_trade_days(start_date=None, end_date=None, count=None):
    """Trading days (``datetime.date``) known to the server."""
    return get_data_client().get_trade_days(start_date, end_date, count)


def get_snapshot(security):
    """The server's latest snapshot of ``security`` (a dict with ``last_price``)."""
    return get_data_client().get_snapshot(security)


def get_last_price(security):
    """Latest price of ``security`` (float)."""
    return get_data_client().get_last_price(security)


# --------------------------------------------------------------------------- takeover mode

_COMPAT_NAMES = ("order", "order_value", "order_percent", "order_target", "order_target_value",
                 "order_target_percent", "cancel_order", "get_open_orders", "get_orders",
                 "get_trades")
_STATE_KEY = "__bt_jq_compat_state__"
_BACKTEST_TYPES = ("simple_backtest", "full_backtest")


def _run_type(context):
    params = getattr(context, "run_params", None)
    if isinstance(context, dict) and params is None:
        params = context.get("run_params")
    if isinstance(params, dict):
        return params.get("type")
    kind = getattr(params, "type", None)
    return getattr(kind, "value", kind)


class _PositionView(object):
    """A JoinQuant-like position backed by a RemotePosition (or empty)."""

    def __init__(self, security, pos=None):
        self.security = security
        self.total_amount = pos.amount if pos else 0
        self.closeable_amount = pos.available if pos else 0
        self.locked_amount = max(self.total_amount - self.closeable_amount, 0)
        self.value = pos.market_value if pos else 0.0
        self.price = (self.value / self.total_amount) if self.total_amount else (
            pos.price if pos else 0.0)
        self.avg_cost = pos.avg_cost if pos else 0.0
        self.hold_cost = self.avg_cost
        self.acc_avg_cost = self.avg_cost
        self.market = pos.market if pos else None
        self.side = "long"

    def __repr__(self):
        return "Position({}, total={}, closeable={})".format(
            self.security, self.total_amount, self.closeable_amount)


class _Positions(dict):
    """``positions[code]`` never raises: an unknown code gives an empty position."""

    def __missing__(self, key):
        return _PositionView(_norm_code(key))

    def __contains__(self, key):
        return dict.__contains__(self, _norm_code(key))

    def __getitem__(self, key):
        return dict.__getitem__(self, _norm_code(key)) if dict.__contains__(
            self, _norm_code(key)) else self.__missing__(key)


class _Snapshot(object):
    """Account + positions cached for PORTFOLIO_TTL seconds, dropped after each order."""

    def __init__(self):
        self._at = None
        self._value = None

    def invalidate(self):
        self._at = None

    def get(self):
        now = time.time()
        if self._at is None or now - self._at > PORTFOLIO_TTL:
            broker = get_broker_client()
            account = broker.get_account()
            positions = _Positions()
            for pos in broker.get_positions():
                code = _norm_code(pos.security or "")
                positions[code] = _PositionView(code, pos)
            self._value = (account, positions)
            self._at = now
        return self._value


class _PortfolioProxy(object):
    def __init__(self, snapshot):
        self._snapshot = snapshot

    @property
    def available_cash(self):
        return self._snapshot.get()[0].available_cash

    @property
    def total_value(self):
        return self._snapshot.get()[0].total_value

    @property
    def positions(self):
        return self._snapshot.get()[1]

    @property
    def long_positions(self):
        return self.positions

    @property
    def short_positions(self):
        return {}

    @property
    def positions_value(self):
        return sum(p.value for p in self.positions.values())

    @property
    def transferable_cash(self):
        return self.available_cash

    locked_cash = 0.0
    type = "stock"


def _compat_wrappers(state, default_wait):
    def call(name, security, x, style, side, pindex, close_today, kw):
        _check_jq_args(side, pindex, close_today)
        unknown = set(kw) - set(("price", "wait_timeout", "market", "remark", "order_remark",
                                 "idempotency_key"))
        if unknown:
            raise TypeError("{}() got unexpected keyword(s): {}".format(
                name, ", ".join(sorted(unknown))))
        broker = get_broker_client()
        price, market = kw.get("price"), kw.get("market")
        if name in ("order_percent", "order_target_percent"):
            x = broker.get_account().total_value * float(x)
        if name in ("order_value", "order_percent"):
            shares = broker.shares_for_value(security, x, price, style, market, None)
        elif name in ("order_target_value", "order_target_percent"):
            shares = broker.delta_to_target(
                security, _target_shares(security, x, price, style, market))
        elif name == "order_target":
            shares = broker.delta_to_target(security, x)
        else:
            shares = int(x)
        wait = kw.get("wait_timeout")
        try:
            placed = broker.place(security, shares, price=price, style=style, market=market,
                                  wait_timeout=default_wait if wait is None else wait,
                                  remark=kw.get("remark"), order_remark=kw.get("order_remark"),
                                  idempotency_key=kw.get("idempotency_key"))
        finally:
            state["snapshot"].invalidate()
        if state["mirror"]:
            _mirror(state, name, security, x, style)
        return placed if placed is not None and placed.order_id else None

    def make(name):
        def wrapper(security, amount, style=None, side="long", pindex=0, close_today=False,
                    **kw):
            return call(name, security, amount, style, side, pindex, close_today, kw)

        wrapper.__name__ = name
        wrapper.__doc__ = "bullet-trade takeover of JoinQuant {}(): trades remotely.".format(name)
        return wrapper

    wrappers = dict((name, make(name)) for name in _COMPAT_NAMES[:6])

    def cancel(order):
        try:
            return cancel_order(order)
        finally:
            state["snapshot"].invalidate()

    wrappers["cancel_order"] = cancel
    wrappers["get_open_orders"] = get_open_orders
    wrappers["get_orders"] = get_orders
    wrappers["get_trades"] = get_trades
    return wrappers


def _mirror(state, name, security, x, style):
    original = state["originals"].get(name)
    if original is None:
        return
    try:
        original(security, x, style) if style is not None else original(security, x)
    except Exception as exc:  # best effort only: the real order already went through
        _debug("mirror of {} failed: {}", name, exc)


def _restore(namespace):
    saved = namespace.get(_STATE_KEY)
    if not saved:
        return
    for name, original in saved["originals"].items():
        if original is None:
            namespace.pop(name, None)
        else:
            namespace[name] = original
    context = saved.get("context")
    for attr, value in saved.get("context_attrs", {}).items():
        try:
            setattr(context, attr, value)
        except Exception as exc:
            _debug("cannot restore context.{}: {}", attr, exc)
    namespace.pop(_STATE_KEY, None)


def install_jq_compat(namespace, *, context, host=None, token=None, **options):
    """Takeover mode: make JoinQuant's own ``order*``/``cancel_order``/``get_*orders``/
    ``get_trades`` and ``context.portfolio`` trade through the server, in ``sim_trade`` runs
    only. Call it from ``process_initialize`` with ``globals()``.

    Args:
        namespace: the strategy's ``globals()``.
        context: JoinQuant's context (its ``run_params.type`` decides).
        host / token / other keywords: as :func:`configure`, plus ``mirror_jq_orders`` (also
            place the order in JoinQuant's simulation, best effort) and ``default_wait_timeout``
            (seconds the wrappers wait for a terminal status, default 16).

    Returns:
        ``{"enabled": bool, "reason"?: "backtest" | "unsupported_run_type", "run_type": ...}``.
        In a backtest everything is restored and nothing is configured.
    """
    mirror = bool(options.pop("mirror_jq_orders", False))
    default_wait = float(options.pop("default_wait_timeout", DEFAULT_COMPAT_WAIT))
    run_type = _run_type(context)
    if run_type != "sim_trade":
        _restore(namespace)
        reason = "backtest" if run_type in _BACKTEST_TYPES else "unsupported_run_type"
        _debug("install_jq_compat disabled: run type {!r}", run_type)
        return {"enabled": False, "reason": reason, "run_type": run_type}
    configure(host, token, **options)
    _restore(namespace)  # idempotent: a second install starts from the originals
    state = {"originals": dict((n, namespace.get(n)) for n in _COMPAT_NAMES),
             "snapshot": _Snapshot(), "mirror": mirror, "context": context,
             "context_attrs": {}}
    portfolio = _PortfolioProxy(state["snapshot"])
    for attr, value in (("portfolio", portfolio), ("subportfolios", [portfolio])):
        try:
            state["context_attrs"][attr] = getattr(context, attr, None)
            setattr(context, attr, value)
        except Exception as exc:  # some contexts forbid it; the order functions still work
            state["context_attrs"].pop(attr, None)
            _debug("cannot replace context.{}: {}", attr, exc)
    namespace.update(_compat_wrappers(state, default_wait))
    namespace[_STATE_KEY] = state
    return {"enabled": True, "run_type": run_type,
            "replaced": list(_COMPAT_NAMES) + sorted(state["context_attrs"])}
