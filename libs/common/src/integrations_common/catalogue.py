"""The catalogue of observable events, and how `observes` entries expand to event types.

Sources (see ../shared/spec/NOTES.md): every key in the spec's table, the keys its examples use
(`product.*`), and custom API entries, `<slug>.created|updated|deleted`.

Wildcards: an `observes` entry may be `<resource>.*` (for example `order.*`). It stands for every
catalogued action of that resource at the time the integration is routed; for a custom API slug it
stands for its three entry events. Matching stays a dictionary lookup because the router expands
wildcards when it indexes an integration, not per event.
"""

from __future__ import annotations

import re
from enum import StrEnum


class EventScope(StrEnum):
    """Which tenants can emit an event type."""

    STORE = "store"
    STORE_OR_ORG = "store_or_org"


def _keys(resource: str, *actions: str) -> dict[str, EventScope]:
    return {f"{resource}.{action}": EventScope.STORE for action in actions}


_CRUD = ("created", "updated", "deleted")

BUILT_IN_EVENTS: dict[str, EventScope] = {
    **_keys("address", *_CRUD),
    **_keys("account", *_CRUD),
    **_keys("account-member", *_CRUD),
    **_keys("account-membership", *_CRUD),
    **_keys("cart", "updated", "deleted"),
    **_keys("currency", *_CRUD),
    **_keys("customer", *_CRUD),
    **_keys("file", "created", "deleted"),
    **{f"integration.{a}": EventScope.STORE_OR_ORG for a in _CRUD},
    **_keys("one-time-password-token-request", "created"),
    **_keys(
        "order",
        "created",
        "updated",
        "paid",
        "authorized",
        "fulfilled",
        "cancelled",
        "refunded",
    ),
    **_keys("payment-gateway", "updated"),
    **{f"catalog-release.{a}": EventScope.STORE_OR_ORG for a in _CRUD},
    **_keys("catalog-rule", *_CRUD),
    **_keys("settings", "created", "updated"),
    **_keys("stock-transaction", "created"),
    **_keys("transaction", "created", "updated"),
    **_keys("user-authentication-info", *_CRUD),
    # Not in the spec's table, but fired by its examples (NOTES.md, decision 7).
    **_keys("product", *_CRUD),
}

BUILT_IN_RESOURCES = frozenset(key.rsplit(".", 1)[0] for key in BUILT_IN_EVENTS)

CUSTOM_API_ACTIONS = _CRUD
_CUSTOM_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62})$")
MAX_KEY_LENGTH = 128


def _split(key: str) -> tuple[str, str] | None:
    resource, dot, action = key.rpartition(".")
    if not dot or not resource or not action:
        return None
    return resource, action


def is_custom_api_event(key: str) -> bool:
    """True for `<slug>.created|updated|deleted` where the slug is not a built-in resource."""
    parts = _split(key)
    if parts is None:
        return False
    slug, action = parts
    return (
        action in CUSTOM_API_ACTIONS
        and slug not in BUILT_IN_RESOURCES
        and _CUSTOM_SLUG.fullmatch(slug) is not None
    )


def scope_of(event_type: str) -> EventScope | None:
    """The scope of a concrete event type, or None when it is not observable."""
    if len(event_type) > MAX_KEY_LENGTH:
        return None
    if event_type in BUILT_IN_EVENTS:
        return BUILT_IN_EVENTS[event_type]
    if is_custom_api_event(event_type):
        return EventScope.STORE
    return None


def expand_observes_key(key: str) -> frozenset[str] | None:
    """The concrete event types one `observes` entry stands for; None when it is not valid."""
    if scope_of(key) is not None:
        return frozenset({key})
    parts = _split(key)
    if parts is None or parts[1] != "*" or len(key) > MAX_KEY_LENGTH:
        return None
    resource = parts[0]
    if resource in BUILT_IN_RESOURCES:
        return frozenset(k for k in BUILT_IN_EVENTS if k.rsplit(".", 1)[0] == resource)
    if _CUSTOM_SLUG.fullmatch(resource):
        return frozenset(f"{resource}.{action}" for action in CUSTOM_API_ACTIONS)
    return None


def expand_observes(keys: list[str]) -> frozenset[str]:
    """Every concrete event type a list of valid `observes` entries stands for."""
    expanded: set[str] = set()
    for key in keys:
        expanded |= expand_observes_key(key) or frozenset()
    return frozenset(expanded)
