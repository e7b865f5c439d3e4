"""The FastAPI dependency that authenticates a request and answers its tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from integrations_api.errors import AuthenticationError
from integrations_api.state import services_of
from integrations_common.tenancy import Tenant

bearer = HTTPBearer(scheme_name="bearerAuth", auto_error=False)


async def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Tenant:
    """The tenant of the request's bearer token (401 in the error format otherwise)."""
    if credentials is None or not credentials.credentials:
        raise AuthenticationError("A bearer token is required.")
    return await services_of(request).verifier.tenant_for(token=credentials.credentials)


TenantDep = Annotated[Tenant, Depends(current_tenant)]
