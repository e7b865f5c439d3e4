"""Log queries, tenant-scoped; another tenant's integration or job is simply not found."""

from __future__ import annotations

from integrations_api.errors import NotFoundError
from integrations_api.integrations.service import Context, get_integration
from integrations_api.logs.models import IntegrationLog, log_resource
from integrations_api.logs.store import LogStore
from integrations_api.pagination import Page
from integrations_common.tenancy import Tenant


async def list_store_logs(
    *, logs: LogStore, tenant: Tenant, page: Page
) -> tuple[list[IntegrationLog], bool]:
    """Every log of the tenant, newest first."""
    docs, more = await logs.log_page(tenant=tenant, offset=page.offset, limit=page.limit)
    return [log_resource(d) for d in docs], more


async def list_integration_logs(
    *,
    context: Context,
    logs: LogStore,
    tenant: Tenant,
    integration_id: str,
    page: Page,
    job_id: str | None = None,
) -> tuple[list[IntegrationLog], bool]:
    """The logs of one of the tenant's integrations, or of one of its jobs (`job_id`)."""
    await get_integration(context=context, tenant=tenant, integration_id=integration_id)
    if job_id is None:
        docs, more = await logs.log_page(
            tenant=tenant, integration_id=integration_id, offset=page.offset, limit=page.limit
        )
    else:
        job = await logs.find_job(tenant=tenant, integration_id=integration_id, job_id=job_id)
        if job is None:
            raise NotFoundError()
        docs, more = await logs.job_log_page(job=job, offset=page.offset, limit=page.limit)
    return [log_resource(d) for d in docs], more
