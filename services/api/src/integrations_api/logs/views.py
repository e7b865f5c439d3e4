"""HTTP routes of the log operations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from integrations_api.auth.dependencies import TenantDep
from integrations_api.integrations.views import IntegrationId, paged_list
from integrations_api.logs import service
from integrations_api.logs.models import LogList, LogsPaginationLinks
from integrations_api.pagination import Page, PageDep
from integrations_api.state import services_of
from integrations_common.tenancy import Tenant

router = APIRouter(prefix="/integrations", tags=["Integrations"])


def open_links(request: Request, page: Page, *, has_next: bool) -> LogsPaginationLinks:
    """The links of a page of a list whose total is not counted (so no `last`)."""
    return LogsPaginationLinks(**page.links(request.url.path, total=None, has_next=has_next))


JobId = Annotated[str, Path(description="The unique identifier of the integration job.")]


async def _integration_logs(
    request: Request, *, tenant: Tenant, integration_id: str, page: Page, job_id: str | None = None
) -> LogList:
    """A page of the logs of one of the tenant's integrations, or of one of its jobs."""
    services = services_of(request)
    logs, more = await service.list_integration_logs(
        context=services.integrations,
        logs=services.logs,
        tenant=tenant,
        integration_id=integration_id,
        page=page,
        job_id=job_id,
    )
    return LogList(data=logs, links=open_links(request, page, has_next=more))


@router.get(
    "/logs",
    operation_id="ListStoreLogs",
    summary="List logs for all integrations for the store",
    **paged_list(LogList, per_integration=False),
)
async def list_store_logs(request: Request, tenant: TenantDep, page: PageDep) -> LogList:
    """Returns all integration logs for the store, newest first."""
    logs, more = await service.list_store_logs(
        logs=services_of(request).logs, tenant=tenant, page=page
    )
    return LogList(data=logs, links=open_links(request, page, has_next=more))


@router.api_route("/logs", methods=["PUT", "DELETE"], include_in_schema=False)
async def store_logs_are_read_only() -> None:
    """`/integrations/logs` is not an integration id: only GET is allowed there (405)."""
    raise StarletteHTTPException(405)


@router.get(
    "/{integration_uuid}/logs",
    operation_id="ListIntegrationLogs",
    summary="List logs for integration",
    **paged_list(LogList, per_integration=True),
)
async def list_integration_logs(
    request: Request, tenant: TenantDep, integration_uuid: IntegrationId, page: PageDep
) -> LogList:
    """Returns the logs for the given integration UUID, newest first."""
    return await _integration_logs(
        request, tenant=tenant, integration_id=integration_uuid, page=page
    )


@router.get(
    "/{integration_uuid}/jobs/{job_uuid}/logs",
    operation_id="ListJobLogs",
    summary="List logs for the job",
    **paged_list(LogList, per_integration=True),
)
async def list_job_logs(
    request: Request,
    tenant: TenantDep,
    integration_uuid: IntegrationId,
    job_uuid: JobId,
    page: PageDep,
) -> LogList:
    """Returns the integration logs for the given integration and job UUID."""
    return await _integration_logs(
        request, tenant=tenant, integration_id=integration_uuid, page=page, job_id=job_uuid
    )
