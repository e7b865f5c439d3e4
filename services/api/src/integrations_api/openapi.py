"""The served OpenAPI document, laid out like the spec and honest about what the API answers.

Paths are relative to the `/v2` server (as in the spec); the spec's schema names are kept; the
configuration schemas, the pagination bounds in force and the error envelope of every error
answer are documented; everything that is ours and not the spec's carries `x-extension: true`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from integrations_api.integrations.models import CONFIGURATION_MODELS
from integrations_api.settings import PaginationSettings

EXTENSION = "x-extension"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
ERROR_REF = "#/components/schemas/ErrorResponse"
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
UNREFERENCED_SCHEMAS = ("Transport",)
"""Listed by FastAPI because `IntegrationType` fields hold a `Transport`, referred to by nothing
(those fields' schema is `IntegrationType`)."""

SPEC_SCHEMAS = frozenset(
    {
        "IntegrationCreate",
        "IntegrationUpdate",
        "Integration",
        "IntegrationLog",
        "IntegrationJob",
        "WebhookConfigurationObject",
        "AWSSQSConfigurationObject",
        "STOMPConfigurationObject",
        "Results",
        "Meta",
        "Links",
        "LinkURI",
        "ErrorResponse",
        "ErrorBody",
        "Timestamps",
        "PaginationLinks",
        "LogsPaginationLinks",
    }
)
"""The schema names of the spec's `components.schemas`."""

SPEC_RESPONSES: dict[tuple[str, str], frozenset[str]] = {
    ("/integrations", "get"): frozenset({"200", "500"}),
    ("/integrations", "post"): frozenset({"200", "422", "500"}),
    ("/integrations/{integration_uuid}", "get"): frozenset({"200", "404", "500"}),
    ("/integrations/{integration_uuid}", "put"): frozenset({"200", "404", "422", "500"}),
    ("/integrations/{integration_uuid}", "delete"): frozenset({"200", "500"}),
    ("/integrations/logs", "get"): frozenset({"200", "500"}),
    ("/integrations/{integration_uuid}/logs", "get"): frozenset({"200", "404", "500"}),
    ("/integrations/{integration_uuid}/jobs", "get"): frozenset({"200", "404", "500"}),
    ("/integrations/{integration_uuid}/jobs/{job_uuid}/logs", "get"): frozenset(
        {"200", "404", "500"}
    ),
}
"""The answers the spec documents per operation; the others we document are extensions."""

EXTENSION_PROPERTIES = {
    "IntegrationLog": ("meta",),
    "IntegrationJob": ("meta",),
    "ErrorBody": ("source",),
}
"""Properties of spec schemas that the spec does not have."""

SPEC_ONLY_SCHEMAS: dict[str, dict[str, Any]] = {
    "LinkURI": {"type": "string", "example": "?page[offset]=0&page[limit]=25"},
    "Links": {
        "type": "object",
        "properties": {
            "links": {
                "description": "Links are used to allow you to move between requests.",
                "type": "object",
                "properties": {"self": {"$ref": "#/components/schemas/LinkURI"}},
            }
        },
    },
    "Meta": {
        "type": "object",
        "properties": {
            "meta": {
                "type": "object",
                "properties": {"timestamps": {"$ref": "#/components/schemas/Timestamps"}},
            }
        },
    },
}
"""Spec schemas the API's models do not produce by these names (shapes as in the spec)."""


def _replace_refs(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        if node.get("$ref") == old:
            node["$ref"] = new
        for value in node.values():
            _replace_refs(value, old, new)
    elif isinstance(node, list):
        for value in node:
            _replace_refs(value, old, new)


def _page_limit_schema(pagination: PaginationSettings) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": pagination.max_limit,
        "default": pagination.default_limit,
        "description": f"Records per page (at most {pagination.max_limit}).",
    }


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _document_operations(document: dict[str, Any], pagination: PaginationSettings) -> None:
    for path, method, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "page[limit]":
                parameter["schema"] = _page_limit_schema(pagination)
        if (path, method) not in SPEC_RESPONSES:
            operation[EXTENSION] = True
        spec_statuses = SPEC_RESPONSES.get((path, method), frozenset())
        for status, response in operation["responses"].items():
            if status == "422":
                response["description"] = "The request failed validation: one error per problem."
            if status not in spec_statuses:
                response[EXTENSION] = True


def _document_schemas(schemas: dict[str, Any]) -> None:
    for name in (*FASTAPI_VALIDATION_SCHEMAS, *UNREFERENCED_SCHEMAS):
        schemas.pop(name, None)
    for model in CONFIGURATION_MODELS.values():
        schemas[model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    schemas.update(SPEC_ONLY_SCHEMAS)
    for name, schema in schemas.items():
        if name not in SPEC_SCHEMAS:
            schema[EXTENSION] = True
        for prop in EXTENSION_PROPERTIES.get(name, ()):
            schema["properties"][prop][EXTENSION] = True


def allowed_methods(document: dict[str, Any], path: str) -> list[str]:
    """The methods the document lists at a request path.

    As OpenAPI matches, a concrete path wins over templated ones (`/integrations/logs` is not
    `/integrations/{integration_uuid}`): the matching templates with the fewest parameters count.
    """
    base = document.get("servers", [{}])[0].get("url", "")
    if not path.startswith(base + "/"):
        return []
    relative = path.removeprefix(base)
    matches: list[tuple[int, dict[str, Any]]] = []
    for template, item in document["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, relative):
            matches.append((template.count("{"), item))
    fewest = min((count for count, _ in matches), default=0)
    return sorted(
        {
            method.upper()
            for count, item in matches
            if count == fewest
            for method in item
            if method in HTTP_METHODS
        }
    )


def build_openapi(
    app: FastAPI, *, base_path: str, pagination: PaginationSettings
) -> dict[str, Any]:
    """The OpenAPI document of `app`: the spec's layout, with our additions marked."""
    document = get_openapi(
        title="Integrations API",
        version="2",
        description="The Commerce Integrations API. `x-extension` marks our additions.",
        routes=app.routes,
        separate_input_output_schemas=False,
    )
    document["servers"] = [{"url": base_path}]
    document["security"] = [{"bearerAuth": []}]
    document["paths"] = {
        path.removeprefix(base_path): item
        for path, item in document["paths"].items()
        if path.startswith(base_path + "/")
    }
    _replace_refs(document, "#/components/schemas/HTTPValidationError", ERROR_REF)
    _document_operations(document, pagination)
    _document_schemas(document.setdefault("components", {}).setdefault("schemas", {}))
    return document
