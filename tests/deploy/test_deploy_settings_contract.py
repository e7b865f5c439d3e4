"""Every environment variable the chart sets is a real setting that its service accepts.

The services' settings forbid unknown keys, so a variable the chart invents would stop a pod
at start. These tests load each rendered environment into the service's own settings class.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_settings import BaseSettings

from integrations_api.settings import ApiSettings
from integrations_router.settings import RouterSettings

from .conftest import (
    POD_FIELDS,
    PROD_VALUES,
    SASL_VALUES,
    SECRET_VALUES,
    SERVICES,
    Render,
    by_kind,
    component,
    environment,
    named,
    section_model,
)

pytestmark = pytest.mark.unit

SETTINGS = {name: (prefix, cls) for name, (prefix, _, cls) in SERVICES.items()}
# What an operator keeps in an existing Secret (the production example uses one).
EXISTING_SECRET = {
    "mongodb-uri": "mongodb+srv://user:pass@cluster0.example.mongodb.net/",
    "encryption-keys": SECRET_VALUES["encryption.keys"],
    "jwt-secret": "an-operator-provided-secret",
    "kafka-sasl-username": "user",
    "kafka-sasl-password": "pass",
}
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {"values": {}},
    "sasl-and-tls": {
        "values": {**SASL_VALUES, **SECRET_VALUES, "kafka.tls.caSecretName": "kafka-ca"}
    },
    "production": {"values_files": [PROD_VALUES]},
}


def is_setting(model: type[BaseModel], path: list[str]) -> bool:
    """True if `a__b` names field `a` and, within its section, field `b`."""
    head, *rest = path
    field = model.model_fields.get(head)
    if field is None:
        return False
    if not rest:
        return True
    section = section_model(field.annotation)
    return section is not None and is_setting(section, rest)


def load(
    monkeypatch: pytest.MonkeyPatch, prefix: str, cls: type[BaseSettings], env: dict[str, str]
) -> BaseSettings:
    """Instantiate `cls` from exactly `env` (other variables with the prefix removed)."""
    unknown = [n for n in env if not is_setting(cls, n.removeprefix(prefix).lower().split("__"))]
    assert unknown == [], f"{cls.__name__} has no setting for {unknown}"
    with monkeypatch.context() as patch:
        for name in [n for n in os.environ if n.startswith(prefix)]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        return cls()


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_deploy_each_component_accepts_its_environment(
    render: Render, monkeypatch: pytest.MonkeyPatch, value_set: str
) -> None:
    manifests = render(**VALUE_SETS[value_set])
    for deployment in by_kind(manifests, "Deployment"):
        prefix, cls = SETTINGS[component(deployment)]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = environment(manifests, container, EXISTING_SECRET)
        assert all(name.startswith(prefix) for name in env)
        settings: Any = load(monkeypatch, prefix, cls, env)
        assert settings.kafka.bootstrap_servers == env[f"{prefix}KAFKA__BOOTSTRAP_SERVERS"].replace(
            " ", ""
        )
        assert settings.kafka.client_id == f"integrations-{component(deployment)}"
        worker = cls is not ApiSettings
        pod = POD_FIELDS["metadata.name"]
        assert settings.kafka.group_instance_id == (pod if worker else None)
        assert settings.topics.partitions == int(env[f"{prefix}TOPICS__PARTITIONS"])
        listener = settings if cls is ApiSettings else settings.ops
        assert listener.host == "0.0.0.0"  # noqa: S104
        assert listener.port == container["ports"][0]["containerPort"]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_deploy_topic_hook_accepts_its_environment(
    render: Render, monkeypatch: pytest.MonkeyPatch, value_set: str
) -> None:
    manifests = render(**VALUE_SETS[value_set])
    (job,) = by_kind(manifests, "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    settings: Any = load(
        monkeypatch, "API_", ApiSettings, environment(manifests, container, EXISTING_SECRET)
    )
    assert settings.topics.replication_factor >= 1
    assert container["command"] == ["integrations-create-topics"]  # reads ApiSettings


def test_deploy_component_config_passes_through_to_settings(
    render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = render(values={"router.config": {"LOG_LEVEL": "DEBUG"}, "logLevel": "WARNING"})
    deployment = named(manifests, "Deployment", "integrations-router")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    settings: Any = load(
        monkeypatch, "ROUTER_", RouterSettings, environment(manifests, container, EXISTING_SECRET)
    )
    assert settings.log_level == "DEBUG"
