"""HTTP routes of the log operations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from integrations_api.auth.dependencies import TenantDep
from integrations_api.integrations.views import ERRORS, NOT_FOUND, PAGED, IntegrationId
from integrations_api.logs import service
from integrations_api.logs.models import LogList, LogsPaginationLinks
from integrations_api.pagination import PageDep
from integrations_api.state import services_of

router = APIRouter(prefix="/integrations", tags=["Integrations"])

JobId = Annotated[str, Path(description="The unique identifier of the integration job.")]


@router.get(
    "/logs",
    operation_id="ListStoreLogs",
    summary="List logs for all integrations for the store",
    response_model=LogList,
    response_model_exclude_none=True,
    responses={**ERRORS, **PAGED},
)
async def list_store_logs(request: Request, tenant: TenantDep, page: PageDep) -> LogList:
    """Returns all integration logs for the store, newest first."""
    logs, more = await service.list_store_logs(
        logs=services_of(request).logs, tenant=tenant, page=page
    )
    links = page.links(request.url.path, total=None, has_next=more)
    return LogList(data=logs, links=LogsPaginationLinks(**links))


@router.api_route("/logs", methods=["PUT", "DELETE"], include_in_schema=False)
async def store_logs_are_read_only() -> None:
    """`/integrations/logs` is not an integration id: only GET is allowed there (405)."""
    raise StarletteHTTPException(405)


@router.get(
    "/{integration_uuid}/logs",
    operation_id="ListIntegrationLogs",
    summary="List logs for integration",
    response_model=LogList,
    response_model_exclude_none=True,
    responses={**ERRORS, **NOT_FOUND, **PAGED},
)
async def list_integration_logs(
    request: Request, tenant: TenantDep, integration_uuid: IntegrationId, page: PageDep
) -> LogList:
    """Returns the logs for the given integration UUID, newest first."""
    services = services_of(request)
    logs, more = await service.list_integration_logs(
        context=services.integrations,
        logs=services.logs,
        tenant=tenant,
        integration_id=integration_uuid,
        page=page,
    )
    links = page.links(request.url.path, total=None, has_next=more)
    return LogList(data=logs, links=LogsPaginationLinks(**links))


@router.get(
    "/{integration_uuid}/jobs/{job_uuid}/logs",
    operation_id="ListJobLogs",
    summary="List logs for the job",
    response_model=LogList,
    response_model_exclude_none=True,
    responses={**ERRORS, **NOT_FOUND, **PAGED},
)
async def list_job_logs(
    request: Request,
    tenant: TenantDep,
    integration_uuid: IntegrationId,
    job_uuid: JobId,
    page: PageDep,
) -> LogList:
    """Returns the integration logs for the given integration and job UUID."""
    services = services_of(request)
    logs, more = await service.list_job_logs(
        context=services.integrations,
        logs=services.logs,
        tenant=tenant,
        integration_id=integration_uuid,
        job_id=job_uuid,
        page=page,
    )
    links = page.links(request.url.path, total=None, has_next=more)
    return LogList(data=logs, links=LogsPaginationLinks(**links))
