"""Every component starts from the environment the chart renders, as the pods would.

The chart is rendered for the local Kafka and MongoDB-compatible store (with this run's own topic
names, database, consumer groups and ports), the topic hook's command runs first, then each
Deployment's command starts with its ConfigMap and Secret environment. Each must answer the
probes the chart gives it (`/healthz`, then `/readyz`) on the port the chart names, and stop
cleanly on SIGTERM, as Kubernetes stops a pod.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from pydantic_settings import BaseSettings
from pymongo import MongoClient

from integrations_testkit.kafka_tools import delete_topics
from integrations_testkit.network import closed_ports

from .conftest import (
    SECRET_VALUES,
    SERVICES,
    Render,
    by_kind,
    component,
    environment,
    section_model,
)

pytestmark = pytest.mark.e2e

BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
# component -> (values key, settings class)
COMPONENTS = {name: (key, cls) for name, (_, key, cls) in SERVICES.items()}
READY_WITHIN_S = 90.0


def field_paths(model: type[BaseModel]) -> Iterator[list[str]]:
    """Every setting of `model`, as its path of field names."""
    for name, field in model.model_fields.items():
        section = section_model(field.annotation)
        if section is None:
            yield [name]
        else:
            yield from ([name, *rest] for rest in field_paths(section))


def consumer_groups(cls: type[BaseSettings], run: str, name: str) -> dict[str, str]:
    """`config` entries that give every consumer group of a service this run's own name."""
    return {
        "__".join(path).upper(): f"{run}-{name}-{'-'.join(path)}"
        for path in field_paths(cls)
        if path[-1] in ("group_id", "consumer_group")
    }


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url}: the process exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{url} did not answer 200 within {READY_WITHIN_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def run_id(kafka_bootstrap_servers: str, mongodb_uri: str) -> Iterator[str]:
    """This run's name; its topics and database are deleted afterwards."""
    run = f"deploy-run-{uuid.uuid4().hex[:10]}"
    yield run

    asyncio.run(delete_topics(kafka_bootstrap_servers, run))
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri, serverSelectionTimeoutMS=5_000)
    with client:
        client.drop_database(run.replace("-", "_"))


def test_deploy_every_component_starts_from_the_rendered_environment(
    render: Render, run_id: str, kafka_bootstrap_servers: str, mongodb_uri: str, tmp_path: Path
) -> None:
    ports = dict(zip(COMPONENTS, closed_ports(len(COMPONENTS)), strict=True))
    values: dict[str, object] = {
        "kafka.bootstrapServers": kafka_bootstrap_servers,
        "mongodb.uri": mongodb_uri,
        "mongodb.database": run_id.replace("-", "_"),
        "encryption.keys": SECRET_VALUES["encryption.keys"],
        "auth.jwtSecret": SECRET_VALUES["auth.jwtSecret"],
        "topics.partitions": 2,
        "topics.events": f"{run_id}.events",
        "topics.eventsDlq": f"{run_id}.events.dlq",
        "topics.config": f"{run_id}.config",
        "topics.deliveriesPrefix": f"{run_id}.deliveries",
        "topics.logs": f"{run_id}.logs",
    }
    for name, (key, cls) in COMPONENTS.items():
        values[f"{key}.{'port' if name == 'api' else 'opsPort'}"] = ports[name]
        values[f"{key}.config"] = consumer_groups(cls, run_id, name)
    manifests = render(values=values)
    base_env = {"PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(tmp_path)}

    (job,) = by_kind(manifests, "Job")
    (hook,) = job["spec"]["template"]["spec"]["containers"]
    created = subprocess.run(
        [str(BIN / hook["command"][0]), *hook["command"][1:]],
        env={**base_env, **environment(manifests, hook)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert created.returncode == 0, created.stdout + created.stderr

    processes: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    try:
        for deployment in by_kind(manifests, "Deployment"):
            name = component(deployment)
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                processes[name] = (
                    subprocess.Popen(
                        [str(BIN / container["command"][0])],
                        env={**base_env, **environment(manifests, container)},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=tmp_path,
                    ),
                    log,
                )
            assert container["ports"][0]["containerPort"] == ports[name]
        assert set(processes) == set(COMPONENTS)
        for deployment in by_kind(manifests, "Deployment"):
            name = component(deployment)
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            process, log = processes[name]
            for probe in ("startupProbe", "readinessProbe"):
                path = container[probe]["httpGet"]["path"]
                wait_for(f"http://127.0.0.1:{ports[name]}{path}", process, log)
    finally:
        for process, _ in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for name, (process, _log) in processes.items():
            try:
                codes[name] = process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
    assert codes == dict.fromkeys(COMPONENTS, 0), {
        name: processes[name][1].read_text()[-2000:] for name, code in codes.items() if code
    }
