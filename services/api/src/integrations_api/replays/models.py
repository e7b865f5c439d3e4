"""Request and answer bodies of the replay extensions."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class RecoverRequest(BaseModel):
    """The window to recover: jobs first routed at or after `since` and before `until`."""

    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime = Field(description="RFC 3339 date-time with an offset.")
    until: AwareDatetime | None = Field(
        default=None, description="RFC 3339 date-time with an offset; now when omitted."
    )


class Replay(BaseModel):
    """A job sent again."""

    type: Literal["replay"] = "replay"
    job_id: str
    attempt: int = Field(description="The number of the replay's first attempt.")


class ReplayDocument(BaseModel):
    """The answer to a replay."""

    data: Replay


class Recovery(BaseModel):
    """What a recovery sent again."""

    type: Literal["recovery"] = "recovery"
    integration_id: str
    since: AwareDatetime
    until: AwareDatetime
    jobs: int = Field(description="Failed jobs of the window sent again by this call.")


class RecoveryDocument(BaseModel):
    """The answer to a recovery."""

    data: Recovery
