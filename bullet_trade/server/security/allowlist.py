"""Peer address policy: which IPs may open a connection at all.

Entries are IPv4/IPv6 addresses or CIDR networks. An IPv4-mapped IPv6 peer
(``::ffff:10.0.0.1``, as seen on dual-stack listeners) is matched against IPv4 entries, and an
IPv6 zone (``fe80::1%eth0``) is ignored. An empty allowlist allows everyone; an invalid entry
is an error at construction (fail closed, never silently dropped).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_peer_ip(host: object) -> IPAddress | None:
    """The peer address as an ``ipaddress`` object (IPv4-mapped IPv6 unwrapped), or ``None``
    when it is not an IP address (e.g. a Unix socket path)."""
    if not isinstance(host, str):
        return None
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def peer_key(ip: IPAddress) -> str:
    """The unit per-address limits count by: the IPv4 address, or the IPv6 /64 (one host
    usually owns a whole /64, so counting single v6 addresses would be trivial to evade)."""
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Allowlist:
    """Immutable set of allowed networks.

    Args:
        entries: addresses or CIDRs (surrounding blanks ignored; host bits allowed, so
            ``10.1.2.3/8`` means ``10.0.0.0/8``).

    Raises:
        ValueError: an entry is not an IP address or network (names the entry).
    """

    def __init__(self, entries: Iterable[str] = ()) -> None:
        networks: list[IPNetwork] = []
        for entry in entries:
            try:
                network = ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"invalid allowlist entry {entry!r}") from None
            if isinstance(network, ipaddress.IPv6Network):
                mapped = network.network_address.ipv4_mapped
                if mapped is not None and network.prefixlen >= 96:
                    network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
            networks.append(network)
        self._networks = tuple(networks)

    @property
    def enabled(self) -> bool:
        return bool(self._networks)

    def allows(self, host: object) -> bool:
        """True when ``host`` (the ``peername[0]`` string) may connect.

        A peer that is not an IP address is refused whenever the allowlist is enabled.
        """
        if not self._networks:
            return True
        ip = parse_peer_ip(host)
        if ip is None:
            return False
        return any(ip.version == net.version and ip in net for net in self._networks)

    def __repr__(self) -> str:
        return f"Allowlist({[str(n) for n in self._networks]})"
