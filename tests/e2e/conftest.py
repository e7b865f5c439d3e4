"""Fixtures that run the platform's services as real processes, the way `make up` does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"

# Service name -> (workspace member holding its local.env, env var of its HTTP port).
SERVICES = {
    "api": ("api", "API_PORT"),
    "log-writer": ("api", "LOG_WRITER_OPS__PORT"),
    "router": ("router", "ROUTER_OPS__PORT"),
    "webhook-sender": ("webhook-sender", "WEBHOOK_SENDER_OPS__PORT"),
    "queue-sender": ("queue-sender", "QUEUE_SENDER_OPS__PORT"),
}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def platform_secrets() -> dict[str, str]:
    """Fresh local secrets, as infra/services.sh generates them."""
    return {
        "INTEGRATIONS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "INTEGRATIONS_JWT_SECRET": Fernet.generate_key().decode(),
    }


def service_environment(name: str, secrets: dict[str, str], port: int) -> dict[str, str]:
    """The environment `make up` gives a service: secrets, its local.env, then a free port."""
    member, port_variable = SERVICES[name]
    local_env = REPO / "services" / member / "local.env"
    script = 'set -a; [ ! -f "$1" ] || . "$1"; exec env -0'
    base = {**os.environ, **secrets}
    output = subprocess.run(
        ["bash", "-c", script, "bash", str(local_env)],
        env=base,
        capture_output=True,
        check=True,
    ).stdout
    env = dict(item.split("=", 1) for item in output.decode().split("\0") if "=" in item)
    env[port_variable] = str(port)
    return env


@dataclass
class ServiceProcess:
    """A running service and where it answers."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    stopped: bool = field(default=False)

    def wait_healthy(self, timeout: float = 60) -> None:
        """Poll /healthz until it answers 200, failing with the log if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.name} did not become healthy in {timeout}s:\n{self.log()}")

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, then wait for the exit code."""
        self.process.send_signal(signal.SIGTERM)
        self.stopped = True
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        """Everything the service wrote so far."""
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_service(
    tmp_path: Path, platform_secrets: dict[str, str]
) -> Iterator[Callable[[str], ServiceProcess]]:
    """Starts services as subprocesses; kills whatever is still running at the end."""
    started: list[ServiceProcess] = []

    def start(name: str) -> ServiceProcess:
        port = free_port()
        log_path = tmp_path / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(BIN / f"integrations-{name}")],
                env=service_environment(name, platform_secrets, port),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        service = ServiceProcess(name, process, f"http://127.0.0.1:{port}", log_path)
        started.append(service)
        return service

    yield start
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()
