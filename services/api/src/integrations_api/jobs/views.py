"""HTTP route of the jobs operation."""

from __future__ import annotations

from fastapi import APIRouter, Request

from integrations_api.auth.dependencies import TenantDep
from integrations_api.integrations.views import ERRORS, NOT_FOUND, PAGED, IntegrationId
from integrations_api.jobs import service
from integrations_api.logs.models import JobList, LogsPaginationLinks
from integrations_api.pagination import PageDep
from integrations_api.state import services_of

router = APIRouter(prefix="/integrations", tags=["Integrations"])


@router.get(
    "/{integration_uuid}/jobs",
    operation_id="ListIntegrationJobs",
    summary="List jobs for integration",
    response_model=JobList,
    response_model_exclude_none=True,
    responses={**ERRORS, **NOT_FOUND, **PAGED},
)
async def list_jobs(
    request: Request, tenant: TenantDep, integration_uuid: IntegrationId, page: PageDep
) -> JobList:
    """Returns the jobs for the given integration UUID, latest activity first."""
    services = services_of(request)
    jobs, more = await service.list_jobs(
        context=services.integrations,
        logs=services.logs,
        tenant=tenant,
        integration_id=integration_uuid,
        page=page,
    )
    links = page.links(request.url.path, total=None, has_next=more)
    return JobList(data=jobs, links=LogsPaginationLinks(**links))
