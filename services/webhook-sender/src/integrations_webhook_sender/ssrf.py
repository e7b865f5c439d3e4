"""The SSRF guard: resolve a name once, check every address, then connect to the checked one.

`AddressPolicy` says whether an address may be contacted. `GuardedResolver` is the resolver of the
sender's one HTTP connection pool: it resolves, refuses the whole name if any address is blocked,
and hands the connector exactly the addresses it checked, so a second lookup cannot swap them.
Literal addresses in URLs, including legacy IPv4 spellings (decimal, octal, hex, short forms),
are checked by `check_host` before a request starts.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult

from integrations_webhook_sender.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_BLOCKED: tuple[tuple[str, str], ...] = (
    ("169.254.169.254/32", "cloud metadata"),
    ("0.0.0.0/8", "'this network'"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("100::/64", "discard-only"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("2001::/32", "Teredo"),
    ("2001:2::/48", "benchmarking"),
    ("2001:10::/28", "ORCHID"),
    ("2001:20::/28", "ORCHID"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fd00:ec2::254/128", "cloud metadata"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
BLOCKED_NETWORKS: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason) for net, reason in _BLOCKED
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """CIDRs from `127.0.0.0/8, ::1/128` (commas or spaces between them)."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    try:
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts)
    except ValueError as exc:
        raise ValueError(f"not a CIDR list: {exc}") from exc


def _legacy_part(text: str) -> int:
    lowered = text.lower()
    if lowered.startswith("0x"):
        return int(lowered[2:] or "0", 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text, 8)
    return int(text, 10)


@functools.lru_cache(maxsize=4096)
def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally (as `inet_aton` would read it), or None for a name."""
    candidate = host.strip("[]")
    try:
        return ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        pass
    if not _LEGACY_IPV4.match(candidate):
        return None
    try:
        parts = [_legacy_part(p) for p in candidate.rstrip(".").split(".")]
    except ValueError:
        return None
    *head, last = parts
    if any(p > 255 for p in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for part in head:
        value = value << 8 | part
    value = value << (8 * (4 - len(head))) | last
    return ipaddress.IPv4Address(value)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    return None


class AddressPolicy:
    """Which addresses may be contacted: public ones, plus an explicit allow-list of CIDRs."""

    def __init__(self, *, enabled: bool = True, allow: Iterable[IPNetwork] = ()) -> None:
        self.enabled = enabled
        self._allow = tuple(allow)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self._allow)

    def blocked_reason(self, address: IPAddress) -> str | None:
        """Why `address` may not be contacted, or None if it may."""
        if not self.enabled or self._allowed(address):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None:
                inner, form = embedded
                reason = self.blocked_reason(inner)
                return f"{form} {reason}" if reason else None
        for network, reason in BLOCKED_NETWORKS:
            if address.version == network.version and address in network:
                return reason
        if not address.is_global:
            return "non-public"
        return None

    def check(self, *, host: str, address: IPAddress) -> None:
        """Raise `BlockedAddressError` if `address` (what `host` resolved to) is blocked."""
        reason = self.blocked_reason(address)
        if reason is not None:
            raise BlockedAddressError(host=host, address=str(address), reason=reason)

    def check_host(self, host: str) -> IPAddress | None:
        """Check a URL host that is a literal address; answer the address (None for a name)."""
        address = parse_ip_literal(host)
        if address is not None:
            self.check(host=host, address=address)
        return address


class GuardedResolver(AbstractResolver):
    """Resolves through `inner` and answers only addresses the policy allows (all or nothing)."""

    def __init__(self, *, policy: AddressPolicy, inner: AbstractResolver) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        literal = self._policy.check_host(host)
        if literal is not None:
            return [
                ResolveResult(
                    hostname=host,
                    host=str(literal),
                    port=port,
                    family=socket.AF_INET if literal.version == 4 else socket.AF_INET6,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            ]
        results = await self._inner.resolve(host, port, family)
        for result in results:
            self._policy.check(host=host, address=ipaddress.ip_address(result["host"]))
        return results

    async def close(self) -> None:
        await self._inner.close()
