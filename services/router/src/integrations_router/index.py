"""The routing index: which enabled integrations observe an event type for a tenant.

Matching rule: an event goes to every enabled integration of the same tenant whose `observes`
contains its type. A store-level event (it has `storeid`) matches the integrations of that store
(`store:<storeid>`); an org-level event (no `storeid`) matches the org-level integrations of its
org (`org:<orgid>`). Wildcards such as `order.*` are expanded when an integration is indexed, so
matching an event is one dictionary lookup on (tenant key, event type).
"""

from __future__ import annotations

from collections.abc import Iterator

from integrations_common.catalogue import expand_observes
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot

IndexKey = tuple[str, str]


class RoutingIndex:
    """Every known integration by id, and the enabled ones by (tenant key, event type)."""

    def __init__(self) -> None:
        self._by_id: dict[str, IntegrationSnapshot] = {}
        self._keys_of: dict[str, frozenset[IndexKey]] = {}
        self._index: dict[IndexKey, dict[str, IntegrationSnapshot]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, integration_id: object) -> bool:
        return integration_id in self._by_id

    def get(self, integration_id: str) -> IntegrationSnapshot | None:
        """The snapshot held for an integration id."""
        return self._by_id.get(integration_id)

    def __iter__(self) -> Iterator[IntegrationSnapshot]:
        return iter(list(self._by_id.values()))

    @property
    def enabled_count(self) -> int:
        """How many integrations are enabled."""
        return sum(1 for snapshot in self._by_id.values() if snapshot.enabled)

    @property
    def key_count(self) -> int:
        """How many (tenant, type) keys the index holds."""
        return len(self._index)

    def apply(self, integration_id: str, snapshot: IntegrationSnapshot | None) -> bool:
        """Record a snapshot (or, for None, a deletion); answer whether anything changed.

        A snapshot whose version is older than the one held is ignored, so a late duplicate
        from the API cannot undo a newer change. A deletion always applies.
        """
        current = self._by_id.get(integration_id)
        if snapshot is not None and current is not None and snapshot.version < current.version:
            return False
        self._unindex(integration_id)
        if snapshot is None:
            return current is not None
        self._by_id[integration_id] = snapshot
        if snapshot.enabled:
            self._index_snapshot(integration_id, snapshot)
        return True

    def _index_snapshot(self, integration_id: str, snapshot: IntegrationSnapshot) -> None:
        tenant = snapshot.tenant
        if tenant.org_id is None and tenant.store_id is None:
            return
        keys = frozenset(
            (tenant.key, event_type) for event_type in expand_observes(snapshot.observes)
        )
        for key in keys:
            self._index.setdefault(key, {})[integration_id] = snapshot
        self._keys_of[integration_id] = keys

    def _unindex(self, integration_id: str) -> None:
        self._by_id.pop(integration_id, None)
        for key in self._keys_of.pop(integration_id, frozenset()):
            bucket = self._index.get(key)
            if bucket is None:
                continue
            bucket.pop(integration_id, None)
            if not bucket:
                del self._index[key]

    def match(self, event: CommerceEvent) -> list[IntegrationSnapshot]:
        """The enabled integrations an event goes to, in a stable order (by id)."""
        bucket = self._index.get((event.tenant.key, event.type))
        if not bucket:
            return []
        return [bucket[integration_id] for integration_id in sorted(bucket)]
