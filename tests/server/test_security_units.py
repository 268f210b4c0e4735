"""Security building blocks without sockets: allowlist, tokens, throttle, rate limit, TLS setup."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from bullet_trade.config import ServerConfig, TokenGrant
from bullet_trade.server.security import Security, SecuritySetupError
from bullet_trade.server.security.allowlist import Allowlist
from bullet_trade.server.security.ratelimit import TokenBucket
from bullet_trade.server.security.throttle import AuthThrottle
from bullet_trade.server.security.tokens import (
    TokenRegistry,
    check_sub_account_grants,
    load_tokens_file,
    required_scope,
    token_fingerprint,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- allowlist


def test_allowlist_addresses_networks_and_mapped_ipv6() -> None:
    allow = Allowlist(["10.0.0.0/8", " 192.168.1.7 ", "2001:db8::/32", "::1"])
    assert allow.allows("10.2.3.4") and allow.allows("192.168.1.7")
    assert not allow.allows("192.168.1.8") and not allow.allows("11.0.0.1")
    assert allow.allows("::ffff:10.9.9.9")  # IPv4-mapped peer on a dual-stack socket
    assert allow.allows("2001:db8::5") and allow.allows("::1")
    assert allow.allows("fe80::1%eth0") is False
    assert not allow.allows("not-an-ip") and not allow.allows(None)


def test_allowlist_mapped_entry_matches_plain_ipv4_peer() -> None:
    assert Allowlist(["::ffff:127.0.0.1"]).allows("127.0.0.1")


def test_empty_allowlist_allows_everyone() -> None:
    assert Allowlist([]).allows("203.0.113.9")


@pytest.mark.parametrize("entry", ["example.com", "10.0.0.0/33", "1.2.3", "::1/129", ""])
def test_invalid_allowlist_entry_fails_closed(entry: str) -> None:
    with pytest.raises(ValueError, match="allowlist"):
        ServerConfig(token="t", allowlist=("127.0.0.1", entry))


# ---------------------------------------------------------------- tokens


def test_registry_matches_every_token_and_rejects_others() -> None:
    a = TokenGrant(name="a", token="secret-a" * 3, scopes=frozenset({"data"}))
    b = TokenGrant(name="b", token="secret-b" * 3, accounts=frozenset({"main"}))
    registry = TokenRegistry([a, b])
    assert registry.authenticate("secret-b" * 3) is b
    assert registry.authenticate("secret-a" * 3) is a
    for wrong in ("secret-a", "", None, 123, ["secret-a" * 3], "secret-a" * 3 + " "):
        assert registry.authenticate(wrong) is None


def test_duplicate_secrets_or_no_token_refused() -> None:
    with pytest.raises(SecuritySetupError):
        TokenRegistry([])
    with pytest.raises(SecuritySetupError):
        TokenRegistry([TokenGrant(name="x", token="same" * 5), TokenGrant(name="y", token="same" * 5)])


def test_token_grant_repr_hides_the_secret() -> None:
    grant = TokenGrant(name="jq", token="very-secret-value")
    config = ServerConfig(token="another-secret-value", tokens=(grant,))
    assert "very-secret-value" not in repr(grant)
    assert "another-secret-value" not in repr(config)
    assert token_fingerprint("x") != "x" and len(token_fingerprint("x")) == 8


def test_required_scopes() -> None:
    assert required_scope("data.history", "data") == "data"
    assert required_scope("broker.place_order", "broker") == "trade"
    assert required_scope("admin.print_account", "broker") == "trade"
    assert required_scope("admin.health", None) is None
    assert required_scope("admin.capabilities", None) is None
    assert required_scope("admin.halt", None) == "admin"
    assert required_scope("admin.halt", "broker") == "admin"  # never just "trade"
    assert required_scope("admin.resume", "broker") == "admin"
    assert required_scope("data.unsubscribe", None) is None


def test_load_tokens_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(
        '[tokens.jq]\ntoken = "0123456789abcdef0123"\nscopes = ["data", "trade"]\n'
        'accounts = ["main"]\n\n[tokens.ops]\ntoken = "fedcba9876543210fedc"\n',
        encoding="utf-8",
    )
    jq, ops = load_tokens_file(path)
    assert (jq.name, jq.scopes, jq.accounts) == ("jq", {"data", "trade"}, {"main"})
    assert (ops.name, ops.scopes, ops.accounts) == ("ops", {"data", "trade", "admin"}, None)


@pytest.mark.parametrize(
    "body",
    [
        'tokens = 1',
        '[tokens.a]\ntoken = "short"\n',
        '[tokens.a]\ntoken = "0123456789abcdef0123"\nscopes = ["root"]\n',
        '[tokens.a]\ntoken = "0123456789abcdef0123"\nextra = 1\n',
        '[tokens.a]\ntoken = "0123456789abcdef0123"\naccounts = "main"\n',
        '[tokens.a]\ntoken = "0123456789abcdef0123"\nsub_accounts = []\n',
        '[tokens.a]\ntoken = "0123456789abcdef0123"\nsub_accounts = ["*"]\n',
        '[tokens.a]\ntoken = "0123456789abcdef0123"\nsub_accounts = ["bad name"]\n',
        "[tokens.a\n",
    ],
)
def test_bad_tokens_file_is_refused_without_echoing_secrets(tmp_path: Path, body: str) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(SecuritySetupError) as info:
        load_tokens_file(path)
    assert "0123456789abcdef0123" not in str(info.value)


def test_tokens_bound_to_sub_accounts(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(
        '[tokens.demo]\ntoken = "0123456789abcdef0123"\nsub_accounts = ["demo", "b-2"]\n'
        '[tokens.all]\ntoken = "fedcba9876543210fedc"\naccounts = ["hedge"]\n',
        encoding="utf-8",
    )
    demo, plain = load_tokens_file(path)
    assert demo.sub_accounts == {"demo", "b-2"} and plain.sub_accounts is None
    parents = {"demo": "main", "b-2": "default"}
    check_sub_account_grants((demo, plain), parents)  # configured: fine
    with pytest.raises(SecuritySetupError, match="'b-2' is not configured"):
        check_sub_account_grants((demo,), {"demo": "main"})
    bound = TokenGrant(name="x", token="x" * 16, accounts=frozenset({"hedge"}),
                       sub_accounts=frozenset({"demo"}))
    with pytest.raises(SecuritySetupError, match="belongs to account 'main'"):
        check_sub_account_grants((bound,), parents)
    with pytest.raises(ValueError, match="must not be empty"):
        TokenGrant(name="x", token="x" * 16, sub_accounts=frozenset())


def test_missing_tokens_file(tmp_path: Path) -> None:
    with pytest.raises(SecuritySetupError, match="cannot read"):
        load_tokens_file(tmp_path / "nope.toml")


# ---------------------------------------------------------------- throttle and rate limit


def test_throttle_delays_grow_then_ban_expires() -> None:
    clock = FakeClock()
    throttle = AuthThrottle(fail_limit=4, ban_seconds=60, delay=0.5, delay_max=1.5, clock=clock)
    assert [throttle.record_failure("1.2.3.4") for _ in range(4)] == [
        (0.0, False), (0.5, False), (1.0, False), (1.5, True)
    ]
    assert throttle.banned_for("1.2.3.4") == 60 and throttle.banned_for("5.6.7.8") == 0
    clock.now += 61
    assert throttle.banned_for("1.2.3.4") == 0
    assert throttle.record_failure("1.2.3.4") == (0.0, False)  # a fresh start after the ban


def test_throttle_success_resets_and_memory_is_bounded() -> None:
    throttle = AuthThrottle(fail_limit=2, ban_seconds=60, delay=0.1, delay_max=1, max_entries=3)
    throttle.record_failure("a")
    throttle.record_success("a")
    assert throttle.record_failure("a") == (0.0, False)
    for ip in ("b", "c", "d"):
        throttle.record_failure(ip)
    assert throttle.record_failure("a") == (0.0, False)  # "a" was evicted as the oldest


def test_a_flood_of_new_addresses_does_not_lift_a_ban() -> None:
    throttle = AuthThrottle(fail_limit=2, ban_seconds=60, delay=0.1, delay_max=1, max_entries=3)
    throttle.record_failure("attacker")
    assert throttle.record_failure("attacker")[1] is True  # banned
    for i in range(10):
        throttle.record_failure(f"fresh-{i}")
    assert throttle.banned_for("attacker") > 0


def test_peer_key_groups_ipv6_by_64() -> None:
    import ipaddress

    from bullet_trade.server.security.allowlist import peer_key

    one = peer_key(ipaddress.ip_address("2001:db8:1:2::1"))
    other = peer_key(ipaddress.ip_address("2001:db8:1:2:ffff::9"))
    assert one == other == "2001:db8:1:2::/64"
    assert peer_key(ipaddress.ip_address("2001:db8:1:3::1")) != one
    assert peer_key(ipaddress.ip_address("10.0.0.1")) == "10.0.0.1"


def test_token_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.acquire() for _ in range(3)] == [None, None, None]
    assert bucket.acquire() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.acquire() is None
    assert TokenBucket(rate=0, burst=1).acquire() is None


# ---------------------------------------------------------------- TLS setup


def test_tls_setup_errors(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert, other = ca.issue_cert("127.0.0.1"), ca.issue_cert("127.0.0.1")
    cert_file, key_file, other_key = (tmp_path / n for n in ("c.pem", "k.pem", "o.pem"))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    other.private_key_pem.write_to_path(str(other_key))
    ok = Security.from_config(ServerConfig(token="t", tls_cert=cert_file, tls_key=key_file))
    assert ok.ssl_context is not None and len(ok.fingerprint or "") == 64
    cases = [
        (tmp_path / "missing.pem", key_file, "does not exist"),
        (cert_file, other_key, "does not match"),
        (key_file, key_file, "cannot load"),
    ]
    for cert_path, key_path, message in cases:
        with pytest.raises(SecuritySetupError, match=message):
            Security.from_config(ServerConfig(token="t", tls_cert=cert_path, tls_key=key_path))
    with pytest.raises(ValueError, match="together"):
        ServerConfig(token="t", tls_cert=cert_file)
