"""The served OpenAPI has the spec's paths, operations, parameters, answers and schemas.

Whatever the served document has beyond the spec is marked `x-extension`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from pydantic import SecretStr

from integrations_api.app import create_app
from integrations_api.openapi import allowed_methods
from integrations_api.settings import ApiSettings, AuthSettings, PaginationSettings
from integrations_common.secret_box import EncryptionSettings, generate_key

pytestmark = pytest.mark.unit

SPEC = Path(__file__).resolve().parents[3].parent / "shared/spec/integrations-openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
ALLOF_PROPERTIES = {"Integration": {"links", "meta"}}
"""Members the spec adds to an integration with `allOf` (`Links`, `Meta`)."""


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.skip(f"the spec is not at {SPEC}")
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return document


@pytest.fixture(scope="module")
def served() -> dict[str, Any]:
    settings = ApiSettings(
        auth=AuthSettings(jwt_secret=SecretStr("s" * 40)),
        encryption=EncryptionSettings(keys=SecretStr(generate_key())),
        pagination=PaginationSettings(default_limit=10, max_limit=50),
    )
    return create_app(settings).openapi()


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(spec, target)


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_spec_operations_served_and_ours_marked(
    spec: dict[str, Any], served: dict[str, Any]
) -> None:
    expected = {key: op["operationId"] for key, op in _operations(spec).items()}
    served_ops = _operations(served)
    assert {key: served_ops[key]["operationId"] for key in expected} == expected
    extensions = set(served_ops) - set(expected)
    assert extensions == {
        ("/integrations/{integration_uuid}/jobs/{job_uuid}/replay", "post"),
        ("/integrations/{integration_uuid}/recover", "post"),
    }
    for key in extensions:
        assert served_ops[key].get("x-extension") is True, key
        assert all(a.get("x-extension") is True for a in served_ops[key]["responses"].values())


def test_same_path_parameters(spec: dict[str, Any], served: dict[str, Any]) -> None:
    served_ops = _operations(served)
    for (path, method), operation in _operations(spec).items():
        declared = spec["paths"][path].get("parameters", []) + operation.get("parameters", [])
        expected = {_resolve(spec, p)["name"] for p in declared}
        got = {
            p["name"] for p in served_ops[path, method].get("parameters", []) if p["in"] == "path"
        }
        assert got == expected, (path, method)


def test_spec_answers_documented_and_ours_marked(
    spec: dict[str, Any], served: dict[str, Any]
) -> None:
    served_ops = _operations(served)
    for key, operation in _operations(spec).items():
        answers = served_ops[key]["responses"]
        assert set(operation["responses"]) <= set(answers), key
        for status, answer in answers.items():
            if status not in operation["responses"]:
                assert answer.get("x-extension") is True, (key, status)


def test_spec_schemas_served_and_ours_marked(spec: dict[str, Any], served: dict[str, Any]) -> None:
    spec_schemas = spec["components"]["schemas"]
    served_schemas = served["components"]["schemas"]
    assert set(spec_schemas) <= set(served_schemas)
    for name, schema in served_schemas.items():
        if name not in spec_schemas:
            assert schema.get("x-extension") is True, name
            continue
        spec_properties = spec_schemas[name].get("properties", {})
        properties = schema.get("properties", {})
        assert set(spec_properties) <= set(properties), name
        for prop in set(properties) - set(spec_properties) - ALLOF_PROPERTIES.get(name, set()):
            assert properties[prop].get("x-extension") is True, (name, prop)
        for prop, definition in spec_properties.items():
            if "type" in definition and "type" in properties[prop]:
                assert properties[prop]["type"] == definition["type"], (name, prop)


def test_pagination_bounds_in_force_are_documented(served: dict[str, Any]) -> None:
    operation = served["paths"]["/integrations"]["get"]
    limit = next(p for p in operation["parameters"] if p["name"] == "page[limit]")
    assert limit["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 50,
        "default": 10,
        "description": "Records per page (at most 50).",
    }


def test_errors_are_documented_in_the_envelope(served: dict[str, Any]) -> None:
    for (path, method), operation in _operations(served).items():
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (
                    path,
                    method,
                    status,
                )
    assert "HTTPValidationError" not in served["components"]["schemas"]
    assert served["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v2/integrations", ["GET", "POST"]),
        ("/v2/integrations/some-id", ["DELETE", "GET", "PUT"]),
        ("/v2/integrations/logs", ["GET"]),
        ("/v2/integrations/some-id/jobs/job-1/logs", ["GET"]),
        ("/v2/nowhere", []),
        ("/healthz", []),
    ],
)
def test_allow_lists_the_documented_methods(
    served: dict[str, Any], path: str, methods: list[str]
) -> None:
    assert allowed_methods(served, path) == methods
