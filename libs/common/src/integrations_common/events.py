"""The input event contract: a CloudEvents 1.0 commerce event, as producer teams emit it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from integrations_common.tenancy import Tenant

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


class CommerceEvent(BaseModel):
    """A commerce event.

    `data` is a JSON:API document `{"data": {...}, "included": {...}}`; for `*.deleted` events it
    is `{"data": {"type": ..., "id": ...}}`. `storeid` is present on store-level events only.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=1024)
    type: str = Field(min_length=1, max_length=128)
    time: AwareDatetime
    orgid: str = Field(min_length=1, max_length=128)
    storeid: str | None = Field(default=None, min_length=1, max_length=128)
    datacontenttype: str = "application/json"
    data: dict[str, Any]

    @property
    def tenant(self) -> Tenant:
        """The tenant that emitted the event."""
        return Tenant(org_id=self.orgid, store_id=self.storeid)

    @property
    def is_deletion(self) -> bool:
        """True for `*.deleted` events, whose payload is only the resource's type and id."""
        return self.type.endswith(".deleted")

    @property
    def resource(self) -> dict[str, Any]:
        """The primary resource: the document's `data` member."""
        resource = self.data.get("data", {})
        return resource if isinstance(resource, dict) else {}
