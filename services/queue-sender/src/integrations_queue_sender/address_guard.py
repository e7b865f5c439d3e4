"""The SSRF guard of the queue sender: resolve a broker or endpoint host once, check every
address with the shared policy, and hand back the checked addresses to connect to.

STOMP brokers are named by integrations, so their addresses are checked on every connect; the
SQS endpoint override is an operator's setting, checked once at start-up (an override that points
at a private range must be allowed explicitly, as `make up` and the tests do for loopback).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from integrations_common.address_policy import AddressPolicy, IPAddress, parse_ip_literal
from integrations_queue_sender.errors import BlockedAddressError, DestinationUnavailableError

Resolve = Callable[..., list[tuple[Any, ...]]]


def checked_addresses(
    host: str, port: int, *, policy: AddressPolicy, resolve: Resolve = socket.getaddrinfo
) -> list[IPAddress]:
    """Every address `host` stands for, each allowed by `policy`; all or nothing.

    Raises `BlockedAddressError` if any address is blocked, `DestinationUnavailableError` if the
    name does not resolve. Blocking: call it from a worker thread.
    """
    literal = parse_ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = resolve(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise DestinationUnavailableError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(
            dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)
        )
    for address in addresses:
        reason = policy.blocked_reason(address)
        if reason is not None:
            raise BlockedAddressError(host=host, address=str(address), reason=reason)
    return addresses


def check_endpoint(
    url: str, *, policy: AddressPolicy, resolve: Resolve = socket.getaddrinfo
) -> None:
    """Refuse an endpoint URL whose host is, or resolves to, a blocked address."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"endpoint {url!r} names no host")
    default = 443 if parts.scheme == "https" else 80
    checked_addresses(parts.hostname, parts.port or default, policy=policy, resolve=resolve)
