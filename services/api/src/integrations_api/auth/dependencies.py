"""The FastAPI dependency that authenticates a request and answers its tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from integrations_api.errors import AuthenticationError, RateLimitedError
from integrations_api.state import services_of
from integrations_common.tenancy import Tenant

bearer = HTTPBearer(scheme_name="bearerAuth", auto_error=False)


async def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Tenant:
    """The tenant of the request's bearer token (401 in the error format otherwise).

    Each authenticated request spends one of the tenant's rate-limit tokens (429 when none).
    """
    if credentials is None or not credentials.credentials:
        raise AuthenticationError("A bearer token is required.")
    services = services_of(request)
    tenant = await services.verifier.tenant_for(token=credentials.credentials)
    wait_s = services.rate_limiter.take(tenant.key)
    if wait_s is not None:
        raise RateLimitedError(retry_after_s=wait_s)
    return tenant


TenantDep = Annotated[Tenant, Depends(current_tenant)]
