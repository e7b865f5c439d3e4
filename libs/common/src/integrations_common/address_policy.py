"""Which network addresses the senders may contact: the SSRF address policy.

Shared by every transport that connects to an address an integration names (webhook URLs, STOMP
brokers, an SQS endpoint override). Blocked: private, loopback, link-local, cloud metadata,
documentation, multicast and reserved ranges, and any IPv6 address that embeds a blocked IPv4
address. Literal hosts are read as `inet_aton` would (decimal, octal, hex and short forms), so
legacy spellings of a blocked address are blocked too. Each transport raises its own error.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable

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
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_ISATAP_IID = 0x00005EFE
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


def _low_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def _by_prefix(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    return address.ipv4_mapped or (
        _low_ipv4(address) if address in _IPV4_TRANSLATED or address in _NAT64 else None
    )


def _is_isatap(address: ipaddress.IPv6Address) -> bool:
    return (int(address) >> 32) & 0xFDFFFFFF == _ISATAP_IID


def _prefix_form(address: ipaddress.IPv6Address) -> str:
    if address.ipv4_mapped is not None:
        return "IPv4-mapped"
    return "NAT64" if address in _NAT64 else "IPv4-translated"


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries, and the form, for every form that routes to it:
    IPv4-mapped, IPv4-translated (SIIT), NAT64 (well-known prefix), 6to4, Teredo (the client's
    obfuscated address) and ISATAP (interface identifier `[02]00:5efe` + IPv4)."""
    forms: tuple[tuple[ipaddress.IPv4Address | None, str], ...] = (
        (_by_prefix(address), _prefix_form(address)),
        (address.sixtofour, "6to4"),
        (address.teredo[1] if address.teredo else None, "Teredo"),
        (_low_ipv4(address) if _is_isatap(address) else None, "ISATAP"),
    )
    return next(((inner, form) for inner, form in forms if inner is not None), None)


class AddressPolicy:
    """Which addresses may be contacted: public ones, plus an explicit allow-list of CIDRs.

    An IPv6 address that embeds an IPv4 address is judged by the IPv4 address it carries, and
    the range it belongs to must be allowed too.
    """

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
            embedded = embedded_ipv4(address)
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
