"""Runs the whole platform as real processes, the way `make up` does, isolated per run.

Each run gets its own topic names, MongoDB database and consumer groups, so it can share Kafka and
the store with other runs (or with a developer's `make up`). The environment of each service is
what `make up` gives it (secrets, then `services/<service>/local.env`), plus overrides derived from
the service's own settings class: only fields that exist are set, since unknown keys are rejected.
Used by the e2e tests, `make bench` and `make chaos`.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import BaseModel
from pydantic_settings import BaseSettings
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from integrations_common.settings import TopicSettings
from integrations_testkit.kafka_tools import prefixed_topics

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


@dataclass(frozen=True)
class ServiceSpec:
    """How to start one service and where its settings class lives."""

    name: str
    settings: str
    prefix: str
    port_variable: str


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec("api", "integrations_api.settings:ApiSettings", "API_", "API_PORT"),
        ServiceSpec(
            "log-writer",
            "integrations_log_writer.settings:LogWriterSettings",
            "LOG_WRITER_",
            "LOG_WRITER_OPS__PORT",
        ),
        ServiceSpec(
            "router",
            "integrations_router.settings:RouterSettings",
            "ROUTER_",
            "ROUTER_OPS__PORT",
        ),
        ServiceSpec(
            "webhook-sender",
            "integrations_webhook_sender.settings:WebhookSenderSettings",
            "WEBHOOK_SENDER_",
            "WEBHOOK_SENDER_OPS__PORT",
        ),
        ServiceSpec(
            "queue-sender",
            "integrations_queue_sender.settings:QueueSenderSettings",
            "QUEUE_SENDER_",
            "QUEUE_SENDER_OPS__PORT",
        ),
    )
}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunConfig:
    """Where the servers are and how this run isolates itself."""

    kafka_bootstrap_servers: str
    mongodb_uri: str
    sqs_endpoint_url: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    extra_env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(
        default_factory=lambda: {
            "INTEGRATIONS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "INTEGRATIONS_JWT_SECRET": Fernet.generate_key().decode(),
        }
    )

    @property
    def topics(self) -> TopicSettings:
        """This run's topic names."""
        return prefixed_topics(f"run-{self.run_id}", partitions=3)

    @property
    def database(self) -> str:
        """This run's MongoDB database."""
        return f"run_{self.run_id}"


RunFactory = Callable[..., RunConfig]


def _settings_class(spec: ServiceSpec) -> type[BaseSettings]:
    module, _, name = spec.settings.partition(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(module), name)
    return cls


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _walk(model: type[BaseModel], path: str) -> Iterator[tuple[str, str]]:
    """(env path, field name) for every leaf field, depth first."""
    for name, info in model.model_fields.items():
        env_path = f"{path}{name.upper()}"
        nested = _model_of(info.annotation)
        if nested is not None:
            yield from _walk(nested, f"{env_path}__")
        else:
            yield env_path, name


def overrides_for(
    spec: ServiceSpec, run: RunConfig, port: int, instance: str | None = None
) -> dict[str, str]:
    """Environment overrides that point a service at this run's servers and names; the process
    is a static group member named after `instance` (its replica name; the service's name)."""
    topics = run.topics.model_dump()
    env: dict[str, str] = {spec.port_variable: str(port)}
    for env_path, name in _walk(_settings_class(spec), spec.prefix):
        section = env_path.removeprefix(spec.prefix).split("__")[0]
        if section == "KAFKA" and name == "bootstrap_servers":
            env[env_path] = run.kafka_bootstrap_servers
        elif section == "KAFKA" and name == "group_instance_id":
            env[env_path] = f"run-{run.run_id}-{instance or spec.name}"
        elif section == "TOPICS" and name in topics:
            env[env_path] = str(topics[name])
        elif section == "MONGODB" and name == "uri":
            env[env_path] = run.mongodb_uri
        elif section == "MONGODB" and name == "database":
            env[env_path] = run.database
        elif "group" in name and name.endswith(("group", "group_id")):
            env[env_path] = f"run-{run.run_id}-{spec.name}"
        elif name in ("endpoint_url", "sqs_endpoint_url"):
            env[env_path] = run.sqs_endpoint_url
    return env


def service_environment(
    spec: ServiceSpec, run: RunConfig, port: int, instance: str | None = None
) -> dict[str, str]:
    """The full environment of a service: secrets, its local.env, then this run's overrides
    (`instance`: the replica's name, for its static group membership)."""
    local_env = REPO / "services" / spec.name / "local.env"
    script = 'set -a; [ ! -f "$1" ] || . "$1"; exec env -0'
    output = subprocess.run(
        ["bash", "-c", script, "bash", str(local_env)],
        env={**os.environ, **run.secrets},
        capture_output=True,
        check=True,
    ).stdout
    env = dict(item.split("=", 1) for item in output.decode().split("\0") if "=" in item)
    env.update(overrides_for(spec, run, port, instance))
    env.update({k: v for k, v in run.extra_env.items() if k.startswith((spec.prefix, "OTEL_"))})
    return env


class ServiceFailedError(RuntimeError):
    """A service exited or did not become healthy."""


@dataclass
class ServiceProcess:
    """One running service."""

    spec: ServiceSpec
    port: int
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Where the service answers HTTP (the API, or the ops server of a worker)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start the process, appending to its log."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / f"integrations-{self.spec.name}")],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_healthy(self, timeout: float = 90, path: str = "/healthz") -> None:
        """Poll `path` until it answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServiceFailedError(f"{self.spec.name} exited:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise ServiceFailedError(f"{self.spec.name} not healthy after {timeout}s:\n{self.tail()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int | None:
        """Send `sig` and wait for the exit code (SIGKILL if it does not exit in time)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def tail(self, lines: int = 40) -> str:
        """The end of the service's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Platform:
    """Every service of the platform for one run."""

    run: RunConfig
    log_dir: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, spec in SERVICES.items():
            port = free_port()
            self.services[name] = ServiceProcess(
                spec, port, self.log_dir / f"{name}.log", service_environment(spec, self.run, port)
            )

    @property
    def api_url(self) -> str:
        """The API's base URL."""
        return self.services["api"].base_url

    def start(self, *names: str, ready: bool = True) -> None:
        """Start the named services (all by default) and wait until each is healthy/ready."""
        chosen = [self.services[n] for n in (names or tuple(self.services))]
        for service in chosen:
            service.start()
        for service in chosen:
            service.wait_healthy(path="/readyz" if ready else "/healthz")

    def kill(self, name: str) -> None:
        """kill -9 one service."""
        self.services[name].stop(signal.SIGKILL)

    def restart(self, name: str) -> None:
        """Start a stopped service again and wait until it is ready."""
        self.start(name)

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every service, in reverse order, then drop the run's database (the local
        store holds it in memory); answer the exit codes."""
        codes = {name: s.stop() for name, s in reversed(list(self.services.items()))}
        client: MongoClient[dict[str, Any]] = MongoClient(self.run.mongodb_uri, timeoutMS=30_000)
        try:
            client.drop_database(self.run.database)
        except PyMongoError:
            pass  # the store may be down at the end of a fault test; the data is a test run's
        finally:
            client.close()
        return codes

    def pids(self) -> dict[str, int]:
        """Process ids of the running services."""
        return {
            name: s.pid
            for name, s in self.services.items()
            if s.process is not None and s.process.poll() is None
        }
