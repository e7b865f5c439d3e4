"""HTTP routes of the integration operations (operation ids as in the spec)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from pydantic import BaseModel

from integrations_api.auth.dependencies import TenantDep
from integrations_api.content_type import require_json
from integrations_api.errors import ErrorResponse
from integrations_api.integrations import service
from integrations_api.integrations.models import (
    CreateIntegrationRequest,
    IntegrationDocument,
    IntegrationList,
    PaginationLinks,
    Results,
    UpdateIntegrationRequest,
)
from integrations_api.pagination import PageDep
from integrations_api.state import services_of

router = APIRouter(prefix="/integrations", tags=["Integrations"])

IntegrationId = Annotated[str, Path(description="The unique identifier of the integration.")]

Responses = dict[int | str, dict[str, Any]]


def _errors(*statuses: tuple[int, str]) -> Responses:
    return {status: {"model": ErrorResponse, "description": text} for status, text in statuses}


ERRORS = _errors(
    (401, "Unauthorized: the bearer token is missing, expired or invalid."),
    (429, "Too many requests for this tenant: retry after `Retry-After` seconds."),
    (500, "Internal server error."),
    (503, "A dependency (MongoDB or Kafka) is unavailable; retry later."),
)
NOT_FOUND = _errors((404, "Not found: no such resource for this tenant."))
PAGED = _errors((422, "Invalid pagination parameters."))
INVALID = _errors(
    (400, "The body is not valid JSON."),
    (413, "The body is larger than the configured maximum."),
    (415, "The body is declared as something other than JSON."),
    (422, "The request failed validation: one error per problem."),
)
JSON_BODY = [Depends(require_json)]
CONFLICT = _errors((409, "The integration changed concurrently; retry."))
# `/integrations/logs` is a route of its own (GET only), so an id `logs` never reaches these.
LOGS_READ_ONLY = _errors(
    (405, "`logs` is not an integration id: `/integrations/logs` is GET only.")
)


def paged_list(model: type[BaseModel], *, per_integration: bool) -> dict[str, Any]:
    """The options of a route that answers a page of a list: its model with null members left
    out, and its error answers (a 404 when it lists what belongs to one integration)."""
    responses = {**ERRORS, **(NOT_FOUND if per_integration else {}), **PAGED}
    return {"response_model": model, "response_model_exclude_none": True, "responses": responses}


CONFLICT_STATE = _errors(
    (
        409,
        "Not possible in the current state: the integration is disabled, or the job's event "
        "was not kept.",
    ),
)


@router.get(
    "",
    operation_id="ListIntegrations",
    summary="List integrations",
    **paged_list(IntegrationList, per_integration=False),
)
async def list_integrations(request: Request, tenant: TenantDep, page: PageDep) -> IntegrationList:
    """Returns a list of all integrations created by the store."""
    services = services_of(request)
    records, total = await service.list_integrations(
        context=services.integrations, tenant=tenant, offset=page.offset, limit=page.limit
    )
    links = page.links(request.url.path, total=total, has_next=page.offset + len(records) < total)
    return IntegrationList(
        data=[r.resource() for r in records],
        links=PaginationLinks(**links),
        results=Results(total=total),
    )


@router.post(
    "",
    operation_id="CreateIntegration",
    summary="Create an integration",
    response_model=IntegrationDocument,
    responses={**ERRORS, **INVALID},
    dependencies=JSON_BODY,
)
async def create_integration(
    request: Request, tenant: TenantDep, body: Annotated[CreateIntegrationRequest, Body()]
) -> IntegrationDocument:
    """Create an integration."""
    services = services_of(request)
    record = await service.create_integration(
        context=services.integrations, tenant=tenant, data=body.data
    )
    await services.publisher.try_sync(record.id)
    return IntegrationDocument(data=record.resource())


@router.get(
    "/{integration_uuid}",
    operation_id="GetIntegration",
    summary="Get an integration",
    response_model=IntegrationDocument,
    responses={**ERRORS, **NOT_FOUND},
)
async def get_integration(
    request: Request, tenant: TenantDep, integration_uuid: IntegrationId
) -> IntegrationDocument:
    """Returns the integration for the given UUID."""
    record = await service.get_integration(
        context=services_of(request).integrations, tenant=tenant, integration_id=integration_uuid
    )
    return IntegrationDocument(data=record.resource())


@router.put(
    "/{integration_uuid}",
    operation_id="UpdateIntegration",
    summary="Update an integration",
    response_model=IntegrationDocument,
    responses={**ERRORS, **NOT_FOUND, **INVALID, **CONFLICT, **LOGS_READ_ONLY},
    dependencies=JSON_BODY,
)
async def update_integration(
    request: Request,
    tenant: TenantDep,
    integration_uuid: IntegrationId,
    body: Annotated[UpdateIntegrationRequest, Body()],
) -> IntegrationDocument:
    """Updates the attributes given; the others keep theirs. Nothing given, nothing changes."""
    services = services_of(request)
    record, changed = await service.update_integration(
        context=services.integrations,
        tenant=tenant,
        integration_id=integration_uuid,
        data=body.data,
    )
    if changed:
        await services.publisher.try_sync(record.id)
    return IntegrationDocument(data=record.resource())


@router.delete(
    "/{integration_uuid}",
    operation_id="DeleteIntegration",
    summary="Delete an integration",
    status_code=200,
    response_class=Response,
    responses={
        200: {"description": "Integration was successfully deleted"},
        **ERRORS,
        **NOT_FOUND,
        **CONFLICT,
        **LOGS_READ_ONLY,
    },
)
async def delete_integration(
    request: Request, tenant: TenantDep, integration_uuid: IntegrationId
) -> Response:
    """Deletes the integration for the given UUID (a tombstone goes to the config topic)."""
    services = services_of(request)
    record = await service.delete_integration(
        context=services.integrations, tenant=tenant, integration_id=integration_uuid
    )
    await services.publisher.try_sync(record.id)
    return Response(status_code=200)
