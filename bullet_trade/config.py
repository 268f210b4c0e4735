"""Frozen configuration objects. Only ``bullet_trade.cli`` reads flags, environment and
``.env``; everything else receives one of these.

Defaults are documented on each field and mirrored in ``docs/configuration.md``.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bullet_trade.model.records import AccountConfig

DEFAULT_PORT = 58620
DEFAULT_KEEPALIVE = 20
MAX_FRAME_SIZE = 32 * 1024 * 1024


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultConfig:
    """Fault injection of the simulated broker (tests and rehearsals); everything off by default.

    Attributes:
        latency: seconds (real time) added before every broker call.
        reject_rate: share in ``[0, 1]`` of new orders the broker refuses with reason
            ``broker_rejected``; which orders is deterministic for a seed.
        disconnect_every: clock seconds between the starts of scheduled outages (0: none).
        disconnect_for: length of each scheduled outage in clock seconds.
        callback_delay: clock seconds every broker event is held before listeners get it.
        reorder: deliver broker events in swapped adjacent pairs (never dropped).
    """

    latency: float = 0.0
    reject_rate: float = 0.0
    disconnect_every: float = 0.0
    disconnect_for: float = 0.0
    callback_delay: float = 0.0
    reorder: bool = False

    def __post_init__(self) -> None:
        for name in ("latency", "disconnect_every", "disconnect_for", "callback_delay"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"fault {name} must be >= 0, got {value!r}")
        if not (0.0 <= self.reject_rate <= 1.0):
            raise ValueError(f"fault reject_rate must be in [0, 1], got {self.reject_rate!r}")
        if self.disconnect_every and not 0 < self.disconnect_for < self.disconnect_every:
            raise ValueError("fault disconnect_for must be in (0, disconnect_every)")

    @property
    def active(self) -> bool:
        """Whether any fault is switched on."""
        return self != FaultConfig()

    @classmethod
    def parse(cls, spec: str) -> FaultConfig:
        """Parse ``--sim-faults``: comma-separated ``name=value`` pairs using the attribute
        names (``reorder`` alone means true), e.g.
        ``latency=0.05,reject_rate=0.1,disconnect_every=60,disconnect_for=5,reorder``.

        Raises:
            ValueError: unknown name or bad value.
        """
        values: dict[str, float | bool] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, text = item.partition("=")
            name = name.strip()
            if name == "reorder":
                values[name] = text.strip().lower() not in ("0", "false", "no", "off")
            elif name in cls.__dataclass_fields__:
                try:
                    values[name] = float(text)
                except ValueError:
                    raise ValueError(f"fault {name} needs a number, got {text!r}") from None
            else:
                raise ValueError(f"unknown fault {name!r} in {spec!r}")
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Simulated exchange.

    Attributes:
        seed: seed of the deterministic price paths.
        initial_cash: starting cash of a new account (CNY).
        latency: artificial delay added to every data call (seconds; tests of head-of-line).
        clock_mode: ``always-open`` (demos/tests: the market is open whatever the hour),
            ``real`` (wall clock and trading calendar) or ``replay``.
        replay_start / replay_speed: start moment and speed of the ``replay`` clock.
        match_interval: seconds of clock time between two matching passes over open orders.
        tick_interval: seconds of clock time between two pushed quotes of a subscription.
        fill_ratio: share of the current minute bar's volume that one matching pass may fill
            for one security (larger orders fill partly, over several minutes).
        suspended: codes (JoinQuant or QMT form) that are suspended from the start.
        holidays_file: file of extra holidays (one ``YYYY-MM-DD`` a line) for the simulator's
            trading calendar; they take precedence over the library's calendar.
        faults: fault injection of the broker (:class:`FaultConfig`; all off by default).
        limit_queue_ratio: share of the current volume that reaches an order queueing at the
            sealed limit (a buy at limit-up, a sell at limit-down); at most ``fill_ratio``.
        durable: with a state file, acknowledge an order, fill or cancel only once it is
            committed with ``synchronous=FULL`` (survives a crash, like a real exchange; see
            ``adapters/sim/durable.py``); ``False``: fast mode, a crash may lose the last
            milliseconds of changes.
    """

    seed: int = 42
    initial_cash: float = 1_000_000.0
    latency: float = 0.0
    clock_mode: str = "always-open"
    replay_start: str | None = None
    replay_speed: float = 60.0
    match_interval: float = 3.0
    tick_interval: float = 3.0
    fill_ratio: float = 0.25
    suspended: tuple[str, ...] = ()
    holidays_file: str | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    limit_queue_ratio: float = 0.02
    durable: bool = True

    def __post_init__(self) -> None:
        _positive("initial_cash", self.initial_cash)
        _positive("replay_speed", self.replay_speed)
        if self.replay_start is not None:
            try:
                datetime.fromisoformat(self.replay_start)
            except ValueError:
                raise ValueError(
                    f"replay_start must be a date or datetime (YYYY-MM-DD[ HH:MM]), "
                    f"got {self.replay_start!r}"
                ) from None
        _positive("match_interval", self.match_interval)
        _positive("tick_interval", self.tick_interval)
        if not (0 < self.limit_queue_ratio <= 1):
            raise ValueError(f"limit_queue_ratio must be in (0, 1], got {self.limit_queue_ratio!r}")
        if not (0 < self.fill_ratio <= 1):
            raise ValueError(f"fill_ratio must be in (0, 1], got {self.fill_ratio!r}")
        if self.latency < 0:
            raise ValueError("latency must be >= 0")
        if self.clock_mode not in ("always-open", "real", "replay"):
            raise ValueError(
                f"clock_mode must be always-open, real or replay, not {self.clock_mode!r}"
            )


#: Scopes a token may hold: market data, trading (every ``broker.*`` action), administration.
TOKEN_SCOPES = frozenset({"data", "trade", "admin"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenGrant:
    """One named token of the server and what it may do.

    Attributes:
        name: label used in logs and the audit log (the secret itself is never logged).
        token: the shared secret (excluded from ``repr``).
        scopes: subset of :data:`TOKEN_SCOPES`.
        accounts: account keys this token may use; ``None`` means every configured account.
        sub_accounts: virtual sub-accounts this token acts as; ``None`` means none (it may
            act on whole accounts). When set, every broker request must act as one of them,
            never on a parent account directly (``server/handlers/accounts.py``).
    """

    name: str
    token: str = field(repr=False)
    scopes: frozenset[str] = TOKEN_SCOPES
    accounts: frozenset[str] | None = None
    sub_accounts: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a token needs a non-empty name")
        if not self.token:
            raise ValueError(f"token {self.name!r} has an empty secret")
        unknown = sorted(set(self.scopes) - TOKEN_SCOPES)
        if unknown:
            raise ValueError(
                f"token {self.name!r}: unknown scope(s) {unknown}; use {sorted(TOKEN_SCOPES)}"
            )
        if self.sub_accounts is not None and not self.sub_accounts:
            raise ValueError(f"token {self.name!r}: 'sub_accounts' must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class SubAccountConfig:
    """One virtual sub-account (``--sub-accounts demo@main:limit=1000000``).

    Attributes:
        name: the ``sub_account_id`` clients send (letters, digits, ``_`` and ``-``).
        parent: key of the configured account the sub-account trades on.
        limit: cumulative daily quota of open + filled BUY value (CNY); ``None`` = no quota.
    """

    name: str
    parent: str
    limit: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.parent:
            raise ValueError("a sub-account needs a name and a parent account")
        if self.limit is not None:
            _positive(f"sub-account {self.name!r} limit", self.limit)


def _check_allowlist(entries: tuple[str, ...]) -> None:
    """Fail closed: every entry must be an IPv4/IPv6 address or CIDR network."""
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ValueError(
                f"invalid allowlist entry {entry!r}: expected an IPv4/IPv6 address or CIDR "
                "(hostnames are not accepted)"
            ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """``bullet-trade server``.

    Attributes:
        listen / port: bind address (default ``0.0.0.0:58620``).
        token: shared secret of the v1 handshake.
        enable_data / enable_broker: which services are offered.
        accounts: configured accounts; the first is used when a request names none.
        server_type: ``sim`` (simulated exchange) or ``qmt`` (miniQMT via xtquant).
        data_path: miniQMT ``userdata_mini`` directory (qmt only).
        runtime_dir: state, journal and logs live here, never in the source tree.
        max_connections: authenticated sessions allowed at once.
        max_subscriptions: tick symbols per session.
        request_timeout: seconds a handler may take before ``REQUEST_TIMEOUT``.
        trade_max_wait: default seconds ``cancel_order`` / ``place_order`` wait for a terminal
            state (``TRADE_MAX_WAIT_TIME``, a float).
        keepalive: seconds advertised in ``handshake_ack``.
        max_frame_size: largest frame body (bytes) accepted or sent after authentication.
        handshake_timeout: seconds a new connection has to deliver its handshake frame.
        idle_timeout: seconds without any client frame (or without the peer reading our
            output) before a session is closed; ``None`` means ``3 * keepalive``, ``0``
            disables it.
        access_log: one log line per request.
        sim: simulated exchange settings (``server_type == "sim"``).
        tls_cert / tls_key: PEM certificate chain and private key; TLS (1.2+) is on when set
            (both or neither).
        tokens: named tokens with scopes and accounts (``--tokens-file``); ``token``, when
            set, is added as a token named ``default`` with every scope and account.
        allowlist: IPv4/IPv6 addresses and CIDR networks allowed to connect; empty allows
            everyone. An invalid entry is a ``ValueError`` (fail closed).
        max_pending: connections that have not completed the handshake, allowed at once
            (counted apart from ``max_connections`` so strangers cannot crowd out sessions).
        max_pending_per_ip: of those, how many one source address may hold.
        auth_fail_limit: failed handshakes from one IP before it is banned; 0 disables bans.
        auth_ban_seconds: how long a ban lasts.
        auth_delay: delay before answering the second failed handshake of an IP (the first
            is answered at once); it doubles with each further failure, up to
            ``auth_delay_max``.
        rate_limit / rate_burst: requests per second a session may send on average, and the
            burst allowed above that (token bucket); ``rate_limit == 0`` disables it.
        audit_log: write ``<runtime_dir>/logs/audit.log`` (off by default for embedded and
            test servers; ``bullet-trade server`` turns it on unless ``--no-audit-log``).
        sub_accounts: virtual sub-accounts (``--sub-accounts``); names are unique and each
            parent must be a configured account (checked again against the broker's accounts
            when the server is built, since the simulator may supply a default account).
        order_rate_limit / order_rate_burst: orders + cancels per second allowed per account
            on average, and the burst above that (token bucket); ``0`` disables the guard.
    """

    listen: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    token: str = field(default="", repr=False)
    enable_data: bool = True
    enable_broker: bool = True
    accounts: tuple[AccountConfig, ...] = ()
    server_type: str = "sim"
    data_path: str | None = None
    runtime_dir: Path = Path("runtime")
    max_connections: int = 64
    max_subscriptions: int = 200
    request_timeout: float = 60.0
    trade_max_wait: float = 16.0
    keepalive: int = DEFAULT_KEEPALIVE
    max_frame_size: int = MAX_FRAME_SIZE
    handshake_timeout: float = 10.0
    idle_timeout: float | None = None
    access_log: bool = True
    sim: SimConfig = field(default_factory=SimConfig)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tokens: tuple[TokenGrant, ...] = ()
    allowlist: tuple[str, ...] = ()
    max_pending: int = 32
    max_pending_per_ip: int = 8
    auth_fail_limit: int = 5
    auth_ban_seconds: float = 300.0
    auth_delay: float = 0.25
    auth_delay_max: float = 4.0
    rate_limit: float = 200.0
    rate_burst: int = 1000
    audit_log: bool = False
    sub_accounts: tuple[SubAccountConfig, ...] = ()
    order_rate_limit: float = 20.0
    order_rate_burst: int = 40

    def __post_init__(self) -> None:
        if not (0 <= self.port <= 65535):
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if not self.token and not self.tokens:
            raise ValueError("a token is required")
        self._check_security()
        _positive("request_timeout", self.request_timeout)
        _positive("handshake_timeout", self.handshake_timeout)
        if self.idle_timeout is not None and (
            self.idle_timeout < 0 or not math.isfinite(self.idle_timeout)
        ):
            raise ValueError("idle_timeout must be >= 0 (0 disables it)")
        if self.trade_max_wait < 0 or not math.isfinite(self.trade_max_wait):
            raise ValueError("trade_max_wait must be >= 0")
        keys = [a.key for a in self.accounts]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate account keys in {keys}")
        if self.server_type not in ("sim", "qmt"):
            raise ValueError(f"server_type must be sim or qmt, not {self.server_type!r}")
        self._check_orders()

    def _check_orders(self) -> None:
        names = [sub.name for sub in self.sub_accounts]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate sub-account names in {names}")
        keys = {a.key for a in self.accounts}
        for sub in self.sub_accounts:
            if keys and sub.parent not in keys and sub.parent != "default":
                raise ValueError(
                    f"sub-account {sub.name!r}: parent account {sub.parent!r} is not configured"
                )
        if self.order_rate_limit < 0 or not math.isfinite(self.order_rate_limit):
            raise ValueError("order_rate_limit must be a finite number >= 0 (0 disables it)")
        if self.order_rate_burst < 1:
            raise ValueError("order_rate_burst must be >= 1")

    def _check_security(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key must be given together")
        _check_allowlist(self.allowlist)
        names = [grant.name for grant in self.tokens]
        if len(names) != len(set(names)) or (self.token and "default" in names):
            raise ValueError(f"duplicate token names in {names} (--token is named 'default')")
        if self.max_connections < 1 or self.max_pending < 1 or self.max_pending_per_ip < 1:
            raise ValueError("max_connections, max_pending and max_pending_per_ip must be >= 1")
        if self.auth_fail_limit < 0 or self.rate_burst < 1:
            raise ValueError("auth_fail_limit must be >= 0 and rate_burst >= 1")
        for name in ("auth_ban_seconds", "auth_delay", "auth_delay_max", "rate_limit"):
            value = getattr(self, name)
            if value < 0 or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def token_grants(self) -> tuple[TokenGrant, ...]:
        """Every accepted token: ``token`` (as ``default``, unrestricted) then ``tokens``."""
        legacy = (TokenGrant(name="default", token=self.token),) if self.token else ()
        return legacy + self.tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig:
    """Connection settings of ``RemoteQmtBroker`` / ``RemoteQmtProvider``.

    Attributes:
        host / port / token: where the server is and the shared secret.
        account_key / sub_account_id: account routing sent with every broker request.
        rpc_timeout: seconds to wait for a reply (reads); orders add ``wait_timeout``.
        connect_timeout: seconds the first connect + handshake may take.
        tls_cert: CA file to verify the server (TLS on when set).
        tls_fingerprint: pinned SHA-256 fingerprint of the server certificate.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str = field(default="", repr=False)
    account_key: str | None = None
    sub_account_id: str | None = None
    rpc_timeout: float = 60.0
    connect_timeout: float = 10.0
    tls_cert: str | None = None
    tls_fingerprint: str | None = None

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("QMT_SERVER_TOKEN (token) is required to reach the server")
        _positive("rpc_timeout", self.rpc_timeout)
        _positive("connect_timeout", self.connect_timeout)
        if self.tls_fingerprint is not None:
            digits = self.tls_fingerprint.replace(":", "").strip()
            if not re.fullmatch(r"[0-9A-Fa-f]{64}", digits):
                raise ValueError(
                    "tls_fingerprint (QMT_SERVER_TLS_FINGERPRINT) must be a SHA-256 in hex "
                    "(64 hex digits, colons allowed)"
                )
