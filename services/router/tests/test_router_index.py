"""Unit tests of the routing index: the matching rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_router.index import RoutingIndex

pytestmark = pytest.mark.unit

MakeSnapshot = Callable[..., IntegrationSnapshot]
MakeEvent = Callable[..., CommerceEvent]


def ids(matches: list[IntegrationSnapshot]) -> set[str]:
    return {m.id for m in matches}


def test_store_event_matches_the_stores_integrations(
    make_snapshot: MakeSnapshot, make_event: MakeEvent
) -> None:
    index = RoutingIndex()
    mine = make_snapshot(store_id="s1")
    other_store = make_snapshot(store_id="s2")
    org_level = make_snapshot(store_id=None, org_id="org-1")
    for s in (mine, other_store, org_level):
        index.apply(s.id, s)
    assert ids(index.match(make_event(store_id="s1"))) == {mine.id}


def test_org_event_matches_only_org_integrations(
    make_snapshot: MakeSnapshot, make_event: MakeEvent
) -> None:
    index = RoutingIndex()
    org_level = make_snapshot(store_id=None, org_id="org-1", observes=["catalog-release.created"])
    store_level = make_snapshot(store_id="s1", org_id="org-1", observes=["catalog-release.created"])
    other_org = make_snapshot(store_id=None, org_id="org-2", observes=["catalog-release.created"])
    for s in (org_level, store_level, other_org):
        index.apply(s.id, s)
    org_event = make_event(event_type="catalog-release.created", store_id=None, org_id="org-1")
    assert ids(index.match(org_event)) == {org_level.id}
    store_event = make_event(event_type="catalog-release.created", store_id="s1")
    assert ids(index.match(store_event)) == {store_level.id}


def test_only_observed_types_match(make_snapshot: MakeSnapshot, make_event: MakeEvent) -> None:
    index = RoutingIndex()
    s = make_snapshot(observes=["order.created"])
    index.apply(s.id, s)
    assert index.match(make_event(event_type="order.paid")) == []
    assert ids(index.match(make_event(event_type="order.created"))) == {s.id}


def test_wildcards_are_expanded(make_snapshot: MakeSnapshot, make_event: MakeEvent) -> None:
    index = RoutingIndex()
    s = make_snapshot(observes=["order.*", "wishlists.*"])
    index.apply(s.id, s)
    for event_type in ("order.paid", "order.refunded", "wishlists.deleted"):
        assert ids(index.match(make_event(event_type=event_type))) == {s.id}
    assert index.match(make_event(event_type="cart.updated")) == []


def test_disabled_integrations_are_held_but_never_match(
    make_snapshot: MakeSnapshot, make_event: MakeEvent
) -> None:
    index = RoutingIndex()
    s = make_snapshot(enabled=False)
    index.apply(s.id, s)
    assert s.id in index
    assert index.enabled_count == 0
    assert index.match(make_event()) == []


def test_update_replaces_and_delete_removes(
    make_snapshot: MakeSnapshot, make_event: MakeEvent
) -> None:
    index = RoutingIndex()
    first = make_snapshot(observes=["order.paid"])
    index.apply(first.id, first)
    second = make_snapshot(integration_id=first.id, observes=["order.created"], version=2)
    assert index.apply(first.id, second)
    assert index.match(make_event(event_type="order.paid")) == []
    assert index.match(make_event(event_type="order.created"))[0].version == 2
    assert index.apply(first.id, None)
    assert len(index) == 0
    assert index.key_count == 0
    assert not index.apply(first.id, None)


def test_older_versions_are_ignored(make_snapshot: MakeSnapshot, make_event: MakeEvent) -> None:
    index = RoutingIndex()
    newer = make_snapshot(version=3, observes=["order.paid"])
    older = make_snapshot(integration_id=newer.id, version=2, observes=["order.created"])
    index.apply(newer.id, newer)
    assert not index.apply(newer.id, older)
    assert index.get(newer.id) == newer


def test_multiple_integrations_match_in_stable_order(
    make_snapshot: MakeSnapshot, make_event: MakeEvent
) -> None:
    index = RoutingIndex()
    snapshots = [make_snapshot() for _ in range(5)]
    for s in snapshots:
        index.apply(s.id, s)
    matched = [m.id for m in index.match(make_event())]
    assert matched == sorted(s.id for s in snapshots)
