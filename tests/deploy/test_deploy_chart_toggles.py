"""Optional parts of the chart appear exactly when they are switched on."""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from .conftest import (
    CHART,
    PROD_VALUES,
    SASL_VALUES,
    SECRET_VALUES,
    Render,
    by_kind,
    component,
    named,
)

pytestmark = pytest.mark.unit

OPTIONAL_KINDS = ("Ingress", "ScaledObject", "TriggerAuthentication", "ServiceMonitor")


def test_deploy_defaults_render_no_optional_resources(render: Render) -> None:
    manifests = render()
    kinds = {m["kind"] for m in manifests}
    assert kinds.isdisjoint(OPTIONAL_KINDS)
    assert by_kind(manifests, "HorizontalPodAutoscaler") == []
    assert len(by_kind(manifests, "PodDisruptionBudget")) == 5
    for deployment in by_kind(manifests, "Deployment"):
        assert deployment["spec"]["replicas"] >= 1


def test_deploy_ingress_toggle_routes_to_the_api_service(render: Render) -> None:
    manifests = render(values={"api.ingress.enabled": True, "api.ingress.className": "nginx"})
    (ingress,) = by_kind(manifests, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "integrations-api", "port": {"name": "http"}}
    named(manifests, "Service", "integrations-api")


def test_deploy_service_monitor_toggle_scrapes_every_component(render: Render) -> None:
    manifests = render(values={"metrics.serviceMonitor.enabled": True})
    monitors = by_kind(manifests, "ServiceMonitor")
    assert len(monitors) == 5
    for monitor in monitors:
        service = named(manifests, "Service", monitor["metadata"]["name"])
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


def test_deploy_hpa_toggle_takes_replicas_from_the_deployment(render: Render) -> None:
    manifests = render(values={"router.autoscaling.enabled": True})
    (hpa,) = by_kind(manifests, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "integrations-router"
    assert "replicas" not in named(manifests, "Deployment", "integrations-router")["spec"]
    assert "replicas" in named(manifests, "Deployment", "integrations-api")["spec"]


def test_deploy_keda_scales_senders_on_deliveries_lag(render: Render) -> None:
    manifests = render(
        values={
            **SASL_VALUES,
            **SECRET_VALUES,
            "webhookSender.keda.enabled": True,
            "queueSender.keda.enabled": True,
            "queueSender.config": {"DELIVERY__CONSUMER_GROUP": "queues"},
        }
    )
    scaled = {s["metadata"]["name"]: s for s in by_kind(manifests, "ScaledObject")}
    assert set(scaled) == {"integrations-webhook-sender", "integrations-queue-sender"}
    webhook = scaled["integrations-webhook-sender"]["spec"]
    (trigger,) = webhook["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["topic"] == "integrations.deliveries.webhook"
    assert trigger["metadata"]["consumerGroup"] == "integrations-webhook-sender"
    assert trigger["metadata"]["sasl"] == "scram_sha512"
    assert trigger["metadata"]["tls"] == "enable"
    queue = scaled["integrations-queue-sender"]["spec"]
    assert [t["metadata"]["topic"] for t in queue["triggers"]] == [
        "integrations.deliveries.sqs",
        "integrations.deliveries.stomp",
    ]
    assert {t["metadata"]["consumerGroup"] for t in queue["triggers"]} == {"queues"}
    auth_names = {
        t["authenticationRef"]["name"] for s in scaled.values() for t in s["spec"]["triggers"]
    }
    auths = {a["metadata"]["name"]: a for a in by_kind(manifests, "TriggerAuthentication")}
    assert auth_names == set(auths)
    for auth in auths.values():
        refs = {r["parameter"]: r["key"] for r in auth["spec"]["secretTargetRef"]}
        assert refs == {"username": "kafka-sasl-username", "password": "kafka-sasl-password"}
    for name in scaled:
        assert "replicas" not in named(manifests, "Deployment", name)["spec"]
    assert by_kind(manifests, "HorizontalPodAutoscaler") == []


@pytest.mark.parametrize("disabled", ["api", "logWriter", "router", "webhookSender", "queueSender"])
def test_deploy_each_component_can_be_disabled(render: Render, disabled: str) -> None:
    manifests = render(values={f"{disabled}.enabled": False})
    components = {component(m) for m in manifests if m["kind"] == "Deployment"}
    assert len(components) == 4
    for kind in ("ConfigMap", "Service", "PodDisruptionBudget"):
        assert {component(m) for m in by_kind(manifests, kind)} == components


def test_deploy_webhook_sender_egress_excludes_private_and_metadata_ranges(render: Render) -> None:
    (policy,) = by_kind(render(), "NetworkPolicy")
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "webhook-sender"
    assert spec["policyTypes"] == ["Egress"]
    dns, kafka, internet = spec["egress"]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert {p["port"] for p in kafka["ports"]} == {9092, 9093, 9094, 9096}
    blocks = [peer["ipBlock"] for peer in internet["to"]]
    assert {b["cidr"] for b in blocks} == {"0.0.0.0/0", "::/0"}
    denied = [ipaddress.ip_network(c) for b in blocks for c in b["except"]]
    for address in (
        "169.254.169.254",
        "10.1.2.3",
        "172.20.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "100.100.100.200",
        "fd00:ec2::254",
        "::1",
        "fe80::1",
    ):
        ip = ipaddress.ip_address(address)
        assert any(ip in net for net in denied if net.version == ip.version), address
    assert not any(ipaddress.ip_address("93.184.216.34") in n for n in denied if n.version == 4)


def test_deploy_production_egress_names_the_kafka_brokers(render: Render) -> None:
    (policy,) = by_kind(render(values_files=[PROD_VALUES]), "NetworkPolicy")
    kafka = policy["spec"]["egress"][1]
    assert kafka["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]
    assert kafka["ports"] == [{"port": 9096, "protocol": "TCP"}]


def test_deploy_network_policy_can_be_switched_off(render: Render) -> None:
    manifests = render(values={"webhookSender.networkPolicy.enabled": False})
    assert by_kind(manifests, "NetworkPolicy") == []


def test_deploy_topic_hook_job_runs_before_install_and_upgrade(render: Render) -> None:
    manifests = render(values={**SASL_VALUES, **SECRET_VALUES, "topics.partitions": 12})
    (job,) = by_kind(manifests, "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"].endswith("/integrations-api:0.1.0")
    assert container["command"] == ["integrations-create-topics"]
    env = {e["name"]: e for e in container["env"]}
    assert env["API_TOPICS__PARTITIONS"]["value"] == "12"
    assert env["API_KAFKA__SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    # The release Secret does not exist before install: the hook brings its own, created first.
    password = env["API_KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    hook_secret = named(manifests, "Secret", password["name"])
    assert hook_secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    secret_weight = int(hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert secret_weight < int(annotations["helm.sh/hook-weight"])
    assert "serviceAccountName" not in pod  # the chart's ServiceAccount does not exist yet


def test_deploy_topic_hook_job_can_be_switched_off(render: Render) -> None:
    assert by_kind(render(values={"topicsJob.enabled": False}), "Job") == []


def render_notes(helm: Path, tmp_path: Path, values: dict[str, object]) -> str:
    """NOTES.txt as `helm install` prints it (rendered through a template in a chart copy)."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "zz-notes.yaml").write_text(
        '{{- define "notes.preview" -}}' + notes + "{{- end -}}\n"
        'notes: {{ include "notes.preview" . | toJson }}\n'
    )
    command = [str(helm), "template", "integrations", str(chart), "-s", "templates/zz-notes.yaml"]
    for key, value in values.items():
        command += ["--set-json", f"{key}={json.dumps(value)}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    (document,) = [d for d in yaml.safe_load_all(result.stdout) if d]
    text: str = document["notes"]
    return text


def test_deploy_notes_warn_when_replicas_exceed_partitions(helm: Path, tmp_path: Path) -> None:
    quiet = render_notes(helm, tmp_path / "quiet", {})
    assert "WARNING" not in quiet
    assert "port-forward service/integrations-api" in quiet
    loud = render_notes(
        helm,
        tmp_path / "loud",
        {"topics.partitions": 4, "webhookSender.keda.enabled": True, "router.replicaCount": 5},
    )
    assert "webhookSender.keda.maxReplicaCount (6) exceeds topics.partitions (4)" in loud
    assert "router.replicaCount (5) exceeds topics.partitions (4)" in loud
    assert "queueSender" not in loud


def test_deploy_static_membership_names_each_worker_pod_and_can_be_switched_off(
    render: Render,
) -> None:
    def instance_ids(values: dict[str, object]) -> dict[str, object]:
        found: dict[str, object] = {}
        for deployment in by_kind(render(values=values), "Deployment"):
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            for entry in container.get("env", []):
                if entry["name"].endswith("KAFKA__GROUP_INSTANCE_ID"):
                    found[component(deployment)] = entry["valueFrom"]["fieldRef"]["fieldPath"]
        return found

    workers = {"log-writer", "router", "webhook-sender", "queue-sender"}
    assert instance_ids({}) == dict.fromkeys(workers, "metadata.name")
    assert instance_ids({"kafka.staticMembership": False}) == {}
