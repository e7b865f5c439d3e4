"""Fixtures of the deployment checks: the pinned helm binary and chart rendering.

helm is built from source once (`make helm`, Go toolchain) into `.cache/infra/bin` and reused.
Everything here runs offline.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from cryptography.fernet import Fernet
from pydantic import BaseModel
from pydantic_settings import BaseSettings

from integrations_api.settings import ApiSettings
from integrations_log_writer.settings import LogWriterSettings
from integrations_queue_sender.settings import QueueSenderSettings
from integrations_router.settings import RouterSettings
from integrations_webhook_sender.settings import WebhookSenderSettings

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "integrations"
PROD_VALUES = REPO / "deploy" / "helm" / "examples" / "values-production.yaml"
HELM_MK = REPO / "deploy" / "helm.mk"
HELM = REPO / ".cache" / "infra" / "bin" / "helm"

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]

# component -> (environment prefix, values key, settings class)
SERVICES: dict[str, tuple[str, str, type[BaseSettings]]] = {
    "api": ("API_", "api", ApiSettings),
    "log-writer": ("LOG_WRITER_", "logWriter", LogWriterSettings),
    "router": ("ROUTER_", "router", RouterSettings),
    "webhook-sender": ("WEBHOOK_SENDER_", "webhookSender", WebhookSenderSettings),
    "queue-sender": ("QUEUE_SENDER_", "queueSender", QueueSenderSettings),
}


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The settings section a field holds (also when optional), or None for a plain value."""
    candidates = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    for candidate in (annotation, *candidates):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


# Distinctive secret values: none of them may show up outside a Secret.
SECRET_VALUES = {
    "mongodb.uri": "mongodb://sentinel-user:sentinel-mongo-pass@mongo.example:27017",
    "encryption.keys": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
    "auth.jwtSecret": "sentinel-jwt-secret-value",
    "kafka.sasl.username": "sentinel-sasl-user",
    "kafka.sasl.password": "sentinel-sasl-password",
}
SASL_VALUES = {
    "kafka.securityProtocol": "SASL_SSL",
    "kafka.sasl.mechanism": "SCRAM-SHA-512",
}


def make_variable(name: str) -> str:
    """A `NAME := value` variable of deploy/helm.mk (the single source of pinned versions)."""
    match = re.search(rf"^{name}\s*:=\s*(\S+)", HELM_MK.read_text(), re.MULTILINE)
    assert match, f"{name} is not set in {HELM_MK}"
    return match.group(1)


KUBE_VERSION = make_variable("HELM_KUBE_VERSION")


@pytest.fixture(scope="session")
def helm() -> Path:
    """The pinned helm, built with `make helm` when it is not there yet."""
    result = subprocess.run(
        ["make", "-s", "helm"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not HELM.exists():
        pytest.fail(f"could not build helm (needs Go):\n{result.stdout}{result.stderr}")
    return HELM


def helm_template(
    helm: Path,
    *,
    values_files: Sequence[Path] = (),
    values: Mapping[str, object] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`helm template` of the chart, as a finished process (the caller checks the outcome)."""
    command = [str(helm), "template", "integrations", str(CHART), "--namespace", "integrations"]
    command += ["--kube-version", KUBE_VERSION]
    for path in values_files:
        command += ["-f", str(path)]
    for key, value in (values or {}).items():
        command += ["--set-json", f"{key}={json.dumps(value)}"]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def render(helm: Path) -> Render:
    """Render the chart and answer its manifests; fails the test when rendering fails."""

    def _render(
        *, values_files: Sequence[Path] = (), values: Mapping[str, object] | None = None
    ) -> list[Manifest]:
        result = helm_template(helm, values_files=values_files, values=values)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return _render


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    """The manifests of one kind."""
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """The one manifest of `kind` called `name`."""
    found = [m for m in by_kind(manifests, kind) if m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def component(manifest: Manifest) -> str:
    """The app.kubernetes.io/component label of a manifest."""
    label: str = manifest["metadata"]["labels"]["app.kubernetes.io/component"]
    return label


def secret_data(manifest: Manifest) -> dict[str, str]:
    """A Secret's data, decoded."""
    return {k: base64.b64decode(v).decode() for k, v in manifest.get("data", {}).items()}


# What the kubelet would put in a container's fieldRef variables.
POD_FIELDS = {"metadata.name": "integrations-router-5d8f7c9b4-x2x7q"}


def environment(
    manifests: list[Manifest],
    container: dict[str, Any],
    existing_secret: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment a container starts with, secrets and pod fields resolved
    (`existing_secret` stands in for a Secret the chart does not render)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(named(manifests, "ConfigMap", source["configMapRef"]["name"])["data"])
    secrets = {s["metadata"]["name"]: secret_data(s) for s in by_kind(manifests, "Secret")}
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        if "fieldRef" in entry["valueFrom"]:
            env[entry["name"]] = POD_FIELDS[entry["valueFrom"]["fieldRef"]["fieldPath"]]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        env[entry["name"]] = secrets.get(ref["name"], existing_secret or {})[ref["key"]]
    return env
