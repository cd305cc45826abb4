"""The address guard: wirewatch fetches URLs it did not write (article links inside feeds,
redirect targets), so each one is resolved and checked before any connection is made.

``blocked_reason`` is pure: an IP address in, the reason it is refused (or ``None``) out.
Refused: loopback, private (RFC 1918, ULA), link-local (incl. the 169.254.169.254 cloud
metadata address), CGNAT 100.64/10, multicast, unspecified, reserved and documentation
ranges - and the same addresses hidden in IPv4-mapped (::ffff:a.b.c.d), NAT64
(64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16) IPv6 forms.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_EXTRA_V4 = [
    ipaddress.ip_network(n)
    for n in ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "0.0.0.0/8", "240.0.0.0/4")
]
_NAT64 = [ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48")]
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside a mapped, NAT64 or 6to4 IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def blocked_reason(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = blocked_reason(inner)
            return f"{reason} (inside {address})" if reason else None
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("shared or special-purpose", any(address in n for n in _EXTRA_V4)
         if isinstance(address, ipaddress.IPv4Address) else False),
    )  # fmt: skip
    for name, hit in checks:
        if hit:
            return f"{name} address {address}"
    return None


@dataclass(frozen=True)
class Resolved:
    host: str
    port: int
    address: IPAddress


class BlockedAddress(Exception):
    pass


def resolve_checked(host: str, port: int, *, allow_private: bool) -> Resolved:
    """Resolve ``host`` and return an address that may be connected to.

    Every address the name resolves to must pass: a name with one public and one private
    address is refused, since the connection could go to either.
    """
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = blocked_reason(address)
            if reason:
                raise BlockedAddress(f"{host} resolves to a {reason}")
    return Resolved(host, port, addresses[0])


def exempt(host: str, port: int, *, allow_private: bool, allow_hosts: frozenset[str]) -> bool:
    """Whether connections to ``host:port`` skip the address check (intranet feeds)."""
    name = host.strip("[]").lower()
    shown = f"[{name}]" if ":" in name else name
    return allow_private or f"{shown}:{port}" in allow_hosts


def allowed_addresses(host: str, addresses: list[IPAddress], *, exempt: bool) -> list[IPAddress]:
    """The resolved addresses a connection to ``host`` may try, in order.

    Refused addresses are left out; since the connection is then opened to exactly one of
    the addresses returned, a name with one public and one private address can only ever
    reach the public one. ``BlockedAddress`` when none is left.
    """
    if exempt:
        return addresses
    allowed = [address for address in addresses if blocked_reason(address) is None]
    if not allowed:
        reasons = "; ".join(str(blocked_reason(address)) for address in addresses[:3])
        raise BlockedAddress(
            f"{host} resolves to a {reasons}" if addresses else f"{host}: no address"
        )
    return allowed


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order (a literal: itself)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
