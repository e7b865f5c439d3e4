"""The SSRF guard: blocked ranges, bypass spellings, allow-list, and the connect-to-checked rule.

The resolver is a stub, so no packet goes anywhere near a private range.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from integrations_webhook_sender.errors import BlockedAddressError
from integrations_webhook_sender.ssrf import (
    AddressPolicy,
    GuardedResolver,
    parse_ip_literal,
    parse_networks,
)

pytestmark = pytest.mark.unit

BLOCKED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",  # noqa: S104 - an address to block, not to bind
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.1.1",
    "100.64.0.1",
    "100.127.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2001::1",
    "::127.0.0.1",
    # IPv4-translated (SIIT, ::ffff:0:0/96), ISATAP and Teredo carry an IPv4 address too.
    "::ffff:0:127.0.0.1",
    "::ffff:0:a9fe:a9fe",
    "::ffff:0:10.0.0.1",
    "2607:f8b0::5efe:7f00:1",
    "2607:f8b0::200:5efe:a9fe:a9fe",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",
]
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "::ffff:0:8.8.8.8",
    "2607:f8b0::5efe:808:808",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_blocked_addresses(address: str) -> None:
    assert AddressPolicy().blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert AddressPolicy().blocked_reason(ipaddress.ip_address(address)) is None


def test_metadata_and_cgnat_are_named() -> None:
    policy = AddressPolicy()
    assert policy.blocked_reason(ipaddress.ip_address("169.254.169.254")) == "cloud metadata"
    assert policy.blocked_reason(ipaddress.ip_address("100.64.0.1")) == "carrier-grade NAT"
    assert policy.blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1")) == "IPv4-mapped loopback"


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104
        ("025177524776", "169.254.169.254"),
        ("[::ffff:7f00:1]", "127.0.0.1"),
    ],
)
def test_legacy_spellings_are_read_like_inet_aton(spelling: str, address: str) -> None:
    parsed = parse_ip_literal(spelling)
    assert parsed is not None
    mapped = getattr(parsed, "ipv4_mapped", None) or parsed
    assert str(mapped) == address
    with pytest.raises(BlockedAddressError):
        AddressPolicy().check_host(spelling)


def test_the_review_s_ipv4_translated_spelling_is_blocked_in_a_url_host() -> None:
    # `[::ffff:0:127.0.0.1]` got through before: ::ffff:0:0/96 was not read as carrying IPv4.
    with pytest.raises(BlockedAddressError, match="IPv4-translated loopback"):
        AddressPolicy().check_host("[::ffff:0:127.0.0.1]")


@pytest.mark.parametrize("host", ["example.com", "123.example", "0x.example", "1.2.3.4.5"])
def test_names_are_not_literals(host: str) -> None:
    assert parse_ip_literal(host) is None


def test_out_of_range_numbers_are_not_addresses() -> None:
    assert parse_ip_literal("4294967296") is None
    assert parse_ip_literal("1.256.1.1") is None


def test_allow_list_opens_a_range_and_its_mapped_form() -> None:
    policy = AddressPolicy(allow=parse_networks("127.0.0.0/8, ::1/128"))
    assert policy.blocked_reason(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert policy.blocked_reason(ipaddress.ip_address("::1")) is None
    assert policy.blocked_reason(ipaddress.ip_address("10.0.0.1")) == "private"


def test_disabled_guard_allows_everything() -> None:
    assert AddressPolicy(enabled=False).blocked_reason(ipaddress.ip_address("10.0.0.1")) is None


def test_bad_cidrs_are_refused() -> None:
    with pytest.raises(ValueError, match="CIDR"):
        parse_networks("127.0.0.0/33")


class StubResolver(AbstractResolver):
    """Answers fixed addresses and counts lookups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.answers[host]
        ]

    async def close(self) -> None:
        return None


async def test_resolver_refuses_a_name_if_any_address_is_blocked() -> None:
    stub = StubResolver(
        {"mixed.example": ["93.184.216.34", "10.0.0.5"], "good.example": ["93.184.216.34"]}
    )
    guarded = GuardedResolver(policy=AddressPolicy(), inner=stub)
    with pytest.raises(BlockedAddressError, match=r"10\.0\.0\.5, a private address"):
        await guarded.resolve("mixed.example", 80)
    results = await guarded.resolve("good.example", 80)
    assert [r["host"] for r in results] == ["93.184.216.34"]
    assert stub.lookups == ["mixed.example", "good.example"]


async def test_resolver_checks_literals_without_a_lookup() -> None:
    stub = StubResolver({})
    guarded = GuardedResolver(policy=AddressPolicy(), inner=stub)
    with pytest.raises(BlockedAddressError):
        await guarded.resolve("2130706433", 80)
    results = await guarded.resolve("8.8.8.8", 53)
    assert results[0]["host"] == "8.8.8.8"
    assert stub.lookups == []
