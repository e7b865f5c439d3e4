"""The chart passes `helm lint --strict`, Kubernetes schema validation and yamllint, offline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import CHART, KUBE_VERSION, PROD_VALUES, REPO, helm_template

pytestmark = pytest.mark.unit

VALUE_SETS = {"defaults": [], "production": [PROD_VALUES]}
# Custom resources whose schemas kubernetes-validate does not ship; the render tests check them.
CUSTOM_KINDS = ("ScaledObject", "TriggerAuthentication", "ServiceMonitor")
KUBERNETES_VALIDATE = REPO / ".venv" / "bin" / "kubernetes-validate"
YAMLLINT = REPO / ".venv" / "bin" / "yamllint"
# Rendered manifests: helm's toYaml does not indent sequences, and bootstrap lists are long.
RENDERED_YAMLLINT = (
    "{extends: default, rules: {line-length: disable, document-start: disable,"
    " indentation: {indent-sequences: whatever}, comments: {min-spaces-from-content: 1},"
    " braces: {max-spaces-inside: 1}}}"
)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_deploy_helm_lint_strict_passes(helm: Path, value_set: str) -> None:
    command = [str(helm), "lint", "--strict", "--kube-version", KUBE_VERSION, str(CHART)]
    for path in VALUE_SETS[value_set]:
        command += ["-f", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_deploy_rendered_manifests_are_valid_kubernetes(helm: Path, value_set: str) -> None:
    rendered = helm_template(helm, values_files=VALUE_SETS[value_set])
    assert rendered.returncode == 0, rendered.stderr
    result = subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--quiet", "-k", KUBE_VERSION, "-"],
        input=rendered.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = (result.stdout + result.stderr).splitlines()
    unexpected = [line for line in output if not any(kind in line for kind in CUSTOM_KINDS)]
    assert unexpected == [], "\n".join(unexpected)


def test_deploy_yaml_files_pass_yamllint() -> None:
    result = subprocess.run(
        [str(YAMLLINT), "--strict", "-c", "deploy/yamllint.yaml", "deploy"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_deploy_rendered_manifests_pass_yamllint(helm: Path, value_set: str) -> None:
    """Also catches duplicated keys, which Kubernetes would silently collapse."""
    rendered = helm_template(helm, values_files=VALUE_SETS[value_set])
    assert rendered.returncode == 0, rendered.stderr
    result = subprocess.run(
        [str(YAMLLINT), "--strict", "-d", RENDERED_YAMLLINT, "-"],
        input=rendered.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"topics.partitions": 0}, "/topics/partitions"),
        ({"api.replicas": 3}, "additional properties 'replicas' not allowed"),
        ({"kafka.securityProtocol": "SASL"}, "/kafka/securityProtocol"),
        ({"encryption.keys": "not-a-fernet-key"}, "/encryption/keys"),
        ({"logLevel": "verbose"}, "/logLevel"),
        ({"kafka.bootstrapServers": "kafka"}, "/kafka/bootstrapServers"),
        ({"kafka.securityProtocol": "SASL_SSL"}, "kafka.sasl.mechanism is required"),
        (
            {"kafka.securityProtocol": "SASL_SSL", "kafka.sasl.mechanism": "PLAIN"},
            "kafka.sasl.username and kafka.sasl.password are required",
        ),
        (
            {"webhookSender.keda.enabled": True, "webhookSender.autoscaling.enabled": True},
            "enable either autoscaling (HPA) or keda",
        ),
        ({"api.config": {"lower_case": "x"}}, "invalid propertyName 'lower_case'"),
    ],
)
def test_deploy_wrong_values_fail_at_install(
    helm: Path, values: dict[str, object], message: str
) -> None:
    result = helm_template(helm, values=values)
    assert result.returncode != 0
    assert message in result.stderr
