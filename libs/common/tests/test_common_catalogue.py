"""The observable-event catalogue and wildcard expansion."""

from __future__ import annotations

import pytest

from integrations_common.catalogue import (
    EventScope,
    expand_observes,
    expand_observes_key,
    is_custom_api_event,
    scope_of,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("key", "scope"),
    [
        ("order.paid", EventScope.STORE),
        ("cart.updated", EventScope.STORE),
        ("product.deleted", EventScope.STORE),
        ("integration.created", EventScope.STORE_OR_ORG),
        ("catalog-release.updated", EventScope.STORE_OR_ORG),
        ("wishlists.created", EventScope.STORE),
    ],
)
def test_known_event_types_have_a_scope(key: str, scope: EventScope) -> None:
    assert scope_of(key) is scope


@pytest.mark.parametrize(
    "key", ["order.deleted", "cart.created", "order", "", ".created", "Order.paid", "x" * 200]
)
def test_unknown_event_types_have_none(key: str) -> None:
    assert scope_of(key) is None


def test_custom_api_slugs_cannot_shadow_built_in_resources() -> None:
    assert is_custom_api_event("loyalty-points.updated")
    assert not is_custom_api_event("order.deleted")
    assert not is_custom_api_event("loyalty.archived")


def test_wildcards_expand_to_the_catalogued_actions() -> None:
    assert expand_observes_key("cart.*") == frozenset({"cart.updated", "cart.deleted"})
    assert expand_observes_key("wishlists.*") == frozenset(
        {"wishlists.created", "wishlists.updated", "wishlists.deleted"}
    )
    assert expand_observes_key("*.*") is None
    assert expand_observes_key("order.paid.*") is None


def test_expand_observes_unions_entries() -> None:
    expanded = expand_observes(["order.paid", "file.*", "order.paid"])
    assert expanded == {"order.paid", "file.created", "file.deleted"}
