"""Job queries, tenant-scoped."""

from __future__ import annotations

from integrations_api.integrations.service import Context, get_integration
from integrations_api.logs.models import IntegrationJob, job_resource
from integrations_api.logs.store import LogStore
from integrations_api.pagination import Page
from integrations_common.tenancy import Tenant


async def list_jobs(
    *, context: Context, logs: LogStore, tenant: Tenant, integration_id: str, page: Page
) -> tuple[list[IntegrationJob], bool]:
    """The jobs of one of the tenant's integrations, latest activity first."""
    await get_integration(context=context, tenant=tenant, integration_id=integration_id)
    docs, more = await logs.job_page(
        tenant=tenant, integration_id=integration_id, offset=page.offset, limit=page.limit
    )
    return [job_resource(d) for d in docs], more
