"""Rendered pods are locked down, probe real endpoints, and keep secrets in Secrets only."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from .conftest import (
    PROD_VALUES,
    SASL_VALUES,
    SECRET_VALUES,
    Manifest,
    Render,
    by_kind,
    component,
    named,
    secret_data,
)

pytestmark = pytest.mark.unit

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - pods must listen beyond loopback
WRITABLE_TMP = "/tmp"  # noqa: S108 - an emptyDir mount, not a shared directory

COMPONENTS = ("api", "log-writer", "router", "webhook-sender", "queue-sender")
EVERYTHING_ON = {
    **SASL_VALUES,
    **SECRET_VALUES,
    "kafka.tls.caSecretName": "kafka-ca",
    "api.ingress.enabled": True,
    "metrics.serviceMonitor.enabled": True,
    "webhookSender.keda.enabled": True,
    "queueSender.keda.enabled": True,
    "router.autoscaling.enabled": True,
}


def pod_specs(manifests: list[Manifest]) -> list[tuple[str, dict[str, Any]]]:
    """Every pod spec the chart renders: Deployments, the hook Job and the test Pod."""
    specs = [
        (m["metadata"]["name"], m["spec"]["template"]["spec"])
        for m in manifests
        if m["kind"] in ("Deployment", "Job")
    ]
    specs += [(m["metadata"]["name"], m["spec"]) for m in by_kind(manifests, "Pod")]
    return specs


@pytest.mark.parametrize("values", [{}, EVERYTHING_ON], ids=["defaults", "everything-on"])
def test_deploy_every_pod_runs_unprivileged(render: Render, values: dict[str, object]) -> None:
    specs = pod_specs(render(values=values))
    assert len(specs) == 7  # five components, the topics hook, the helm test pod
    for name, spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["privileged"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert container["resources"]["requests"], name
            assert container["resources"]["limits"]["memory"], name


def test_deploy_writable_tmp_is_the_only_writable_mount(render: Render) -> None:
    for name, spec in pod_specs(render(values=EVERYTHING_ON)):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            for mount in container.get("volumeMounts", []):
                if mount["mountPath"] == WRITABLE_TMP:
                    assert "emptyDir" in volumes[mount["name"]], name
                else:
                    assert mount["readOnly"] is True, name


@pytest.mark.parametrize("values_files", [[], [PROD_VALUES]], ids=["defaults", "production"])
def test_deploy_probes_hit_the_ports_the_services_listen_on(
    render: Render, values_files: list[Any]
) -> None:
    manifests = render(values_files=values_files)
    deployments = by_kind(manifests, "Deployment")
    assert sorted(component(d) for d in deployments) == sorted(COMPONENTS)
    for deployment in deployments:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        config = named(manifests, "ConfigMap", deployment["metadata"]["name"])["data"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        port_name = "http" if component(deployment) == "api" else "ops"
        listen = {k: v for k, v in config.items() if k.endswith(("_PORT", "_HOST"))}
        assert sorted(listen.values()) == sorted([ALL_INTERFACES, str(ports[port_name])])
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port_name}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port_name}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": port_name}


def test_deploy_services_route_to_the_probed_ports(render: Render) -> None:
    manifests = render()
    for service in by_kind(manifests, "Service"):
        deployment = named(manifests, "Deployment", service["metadata"]["name"])
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        names = {p["name"] for p in container["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= names
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert service["spec"]["selector"] == selector


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [str(node)]


def test_deploy_secret_values_appear_in_secrets_only(render: Render) -> None:
    manifests = render(values=EVERYTHING_ON)
    secrets = by_kind(manifests, "Secret")
    stored = {v for s in secrets for v in secret_data(s).values()}
    assert set(SECRET_VALUES.values()) <= stored
    elsewhere = [s for m in manifests if m["kind"] != "Secret" for s in _strings(m)]
    for key, value in SECRET_VALUES.items():
        leaks = [s for s in elsewhere if value in s]
        assert leaks == [], f"{key} leaks outside a Secret"
    for config_map in by_kind(manifests, "ConfigMap"):
        for name in config_map["data"]:
            assert not name.endswith(("_URI", "_KEYS", "_SECRET", "_PASSWORD")), name


PREFIXES = {
    "api": "API_",
    "log-writer": "LOG_WRITER_",
    "router": "ROUTER_",
    "webhook-sender": "WEBHOOK_SENDER_",
    "queue-sender": "QUEUE_SENDER_",
}


def test_deploy_secrets_reach_only_the_components_that_need_them(render: Render) -> None:
    manifests = render(values=EVERYTHING_ON)
    kafka = {"KAFKA__SASL_USERNAME", "KAFKA__SASL_PASSWORD"}
    wanted = {
        "api": kafka | {"MONGODB__URI", "ENCRYPTION__KEYS", "AUTH__JWT_SECRET"},
        "log-writer": kafka | {"MONGODB__URI"},
        "router": kafka,
        "webhook-sender": kafka | {"ENCRYPTION__KEYS"},
        "queue-sender": kafka | {"ENCRYPTION__KEYS"},
    }
    for deployment in by_kind(manifests, "Deployment"):
        name = component(deployment)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        secrets = [e for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})]
        names = {e["name"] for e in secrets}
        assert {n.removeprefix(PREFIXES[name]) for n in names} == wanted[name]
        assert all(n.startswith(PREFIXES[name]) for n in names)
        for entry in secrets:
            assert "value" not in entry, entry["name"]
            assert entry["valueFrom"]["secretKeyRef"]["name"] == "integrations-secrets"
        others = [e for e in container["env"] if e not in secrets]  # the pod's name, no secret
        assert all("value" not in e and "fieldRef" in e["valueFrom"] for e in others)


def test_deploy_generated_keys_are_valid_and_kept_on_uninstall(render: Render) -> None:
    (secret,) = by_kind(render(), "Secret")
    data = secret_data(secret)
    Fernet(data["encryption-keys"].encode())  # raises if the generated key is not a Fernet key
    assert len(data["jwt-secret"]) >= 32
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_deploy_existing_secret_replaces_the_charts_secret(render: Render) -> None:
    manifests = render(values_files=[PROD_VALUES])
    assert by_kind(manifests, "Secret") == []
    for deployment in by_kind(manifests, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        refs = {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in container["env"]
            if "secretKeyRef" in e["valueFrom"]
        }
        assert refs == {"integrations-secrets"}
    (job,) = by_kind(manifests, "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert refs == {"integrations-secrets"}
