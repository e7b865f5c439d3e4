"""HTTP route of the jobs operation."""

from __future__ import annotations

from fastapi import APIRouter, Request

from integrations_api.auth.dependencies import TenantDep
from integrations_api.integrations.views import IntegrationId, paged_list
from integrations_api.jobs import service
from integrations_api.logs.models import JobList
from integrations_api.logs.views import open_links
from integrations_api.pagination import PageDep
from integrations_api.state import services_of

router = APIRouter(prefix="/integrations", tags=["Integrations"])


@router.get(
    "/{integration_uuid}/jobs",
    operation_id="ListIntegrationJobs",
    summary="List jobs for integration",
    **paged_list(JobList, per_integration=True),
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
    return JobList(data=jobs, links=open_links(request, page, has_next=more))
