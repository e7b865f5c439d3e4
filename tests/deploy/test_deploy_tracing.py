"""Helm values turn tracing on: every component gets the standard OTEL_* variables, and the
services read them as an OTLP exporter with a bounded timeout; without them nothing is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrations_common import tracing

from .conftest import Render, by_kind, component, environment, helm_template
from .test_deploy_settings_contract import EXISTING_SECRET, SETTINGS, load

pytestmark = pytest.mark.unit

TRACING = {
    "tracing.enabled": True,
    "tracing.endpoint": "http://otel-collector.observability:4318",
    "tracing.samplerArg": "0.25",
    "tracing.resourceAttributes": "deployment.environment=production",
}


def test_deploy_tracing_values_become_otel_variables(
    render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = render(values=TRACING)
    deployments = by_kind(manifests, "Deployment")
    assert len(deployments) == 5
    for deployment in deployments:
        name = component(deployment)
        prefix, cls = SETTINGS[name]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = environment(manifests, container, EXISTING_SECRET)
        otel = {k: v for k, v in env.items() if k.startswith("OTEL_")}
        assert otel == {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "10",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=production",
            "OTEL_SERVICE_NAME": f"integrations-{name}",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
        }
        assert tracing.exporters_from(otel) == ["otlp"]
        assert tracing.exporter_timeout_seconds(otel) == 10
        rest = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
        settings: Any = load(monkeypatch, prefix, cls, rest)
        assert settings.kafka.client_id == f"integrations-{name}"


def test_deploy_tracing_is_off_by_default(render: Render) -> None:
    manifests = render()
    for configmap in by_kind(manifests, "ConfigMap"):
        assert not [k for k in configmap.get("data", {}) if k.startswith("OTEL_")]


def test_deploy_tracing_needs_an_endpoint(helm: Path) -> None:
    result = helm_template(helm, values={"tracing.enabled": True})
    assert result.returncode != 0
    assert "tracing.endpoint is required" in result.stderr
    result = helm_template(helm, values={**TRACING, "tracing.timeoutSeconds": 10000})
    assert result.returncode != 0
