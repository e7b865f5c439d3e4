"""The spec's `IntegrationLog` and `IntegrationJob` shapes (plus `meta`, our extension)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from integrations_common.store.log_documents import job_outcome

EXTENSION = "Extension of this implementation (not in the seed API)."


class ResourceIdentifier(BaseModel):
    """`{"type", "id"}` of a related resource."""

    id: str
    type: str


class Relationship(BaseModel):
    """A to-one relationship."""

    data: ResourceIdentifier


class LogRelationships(BaseModel):
    """The integration and the job a log belongs to."""

    integration: Relationship
    job: Relationship


class LogMeta(BaseModel):
    """When the attempt happened, and what it delivered."""

    timestamps: dict[str, datetime]
    event_id: str
    event_type: str
    job_status: str


class IntegrationLog(BaseModel):
    """One delivery attempt."""

    id: str
    type: Literal["integration"] = "integration"
    succeeded: bool
    attempt: int
    body: str
    status_code: int | None = None
    error_detail: str | None = None
    relationships: LogRelationships
    meta: LogMeta = Field(description=EXTENSION)


class JobMeta(BaseModel):
    """Where the job stands."""

    status: str
    attempts: int
    event_id: str
    event_type: str
    timestamps: dict[str, datetime]


class IntegrationJob(BaseModel):
    """One (event, integration) delivery, over all its attempts."""

    id: str
    type: Literal["integration-job"] = "integration-job"
    meta: JobMeta = Field(description=EXTENSION)


class LogsPaginationLinks(BaseModel):
    """Links between pages of logs (no `last`)."""

    first: str | None = None
    next: str | None = None
    prev: str | None = None


class LogList(BaseModel):
    """A page of logs."""

    data: list[IntegrationLog]
    links: LogsPaginationLinks


class JobList(BaseModel):
    """A page of jobs."""

    data: list[IntegrationJob]
    links: LogsPaginationLinks = Field(description=EXTENSION)


def log_resource(doc: dict[str, Any]) -> IntegrationLog:
    """A stored log document as the API answers it."""
    return IntegrationLog(
        id=doc["_id"],
        succeeded=doc["succeeded"],
        attempt=doc["attempt"],
        body=doc.get("body", ""),
        status_code=doc.get("status_code"),
        error_detail=doc.get("error_detail"),
        relationships=LogRelationships(
            integration=Relationship(
                data=ResourceIdentifier(id=doc["integration_id"], type="integration")
            ),
            job=Relationship(data=ResourceIdentifier(id=doc["job_id"], type="integration-job")),
        ),
        meta=LogMeta(
            timestamps={
                "event_time": doc["event_time"],
                "started_at": doc["started_at"],
                "finished_at": doc["finished_at"],
            },
            event_id=doc["event_id"],
            event_type=doc["event_type"],
            job_status=doc["job_status"],
        ),
    )


def job_resource(doc: dict[str, Any]) -> IntegrationJob:
    """A stored job document as the API answers it."""
    return IntegrationJob(
        id=doc["_id"],
        meta=JobMeta(
            status=job_outcome(doc)["status"],
            attempts=doc["attempts"],
            event_id=doc["event_id"],
            event_type=doc["event_type"],
            timestamps={"created_at": doc["created_at"], "updated_at": doc["updated_at"]},
        ),
    )
