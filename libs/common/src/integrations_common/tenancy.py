"""Tenants: a store (within an org) or an org on its own.

Matching rule: a store-level event (it has `storeid`) goes to the integrations of that store; an
org-level event (no `storeid`) goes to the org-level integrations of that org, those created with
a token that carried only an org id. `Tenant.key` is the index key on both sides.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Tenant(BaseModel):
    """Who owns an integration or emitted an event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    org_id: str | None = Field(default=None, min_length=1, max_length=128)
    store_id: str | None = Field(default=None, min_length=1, max_length=128)

    @property
    def is_store(self) -> bool:
        """True for a store-level tenant."""
        return self.store_id is not None

    @property
    def key(self) -> str:
        """The routing key: `store:<id>` for stores, `org:<id>` for orgs."""
        if self.store_id is not None:
            return f"store:{self.store_id}"
        return f"org:{self.org_id}"
