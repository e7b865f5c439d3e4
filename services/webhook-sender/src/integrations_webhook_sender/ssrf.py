"""The SSRF guard: resolve a name once, check every address, then connect to the checked one.

`AddressPolicy` (the shared policy of `integrations_common.address_policy`) says whether an
address may be contacted. `GuardedResolver` is the resolver of the
sender's one HTTP connection pool: it resolves, refuses the whole name if any address is blocked,
and hands the connector exactly the addresses it checked, so a second lookup cannot swap them.
Literal addresses in URLs, including legacy IPv4 spellings (decimal, octal, hex, short forms),
are checked by `check_host` before a request starts.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from integrations_common.address_policy import AddressPolicy as SharedAddressPolicy
from integrations_common.address_policy import (
    IPAddress,
    IPNetwork,
    parse_ip_literal,
    parse_networks,
)
from integrations_webhook_sender.errors import BlockedAddressError

__all__ = ["AddressPolicy", "GuardedResolver", "IPNetwork", "parse_ip_literal", "parse_networks"]


class AddressPolicy(SharedAddressPolicy):
    """The shared address policy, raising the webhook sender's `BlockedAddressError`."""

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
