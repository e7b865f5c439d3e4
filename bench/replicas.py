"""Several processes of one worker in a bench's platform, and integrations spread evenly over
partitions: what the scaling, rebalance and chaos-at-load runs share.

A replica is one more `ServiceProcess` of a worker's spec, with the same environment (so the
same topics and consumer group) and its own ops port, registered in the platform as
`<service>-<i>` (replica 1 is the platform's own `<service>`), so `Platform.stop`, `kill` and
`restart` handle it like any other service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2
from prometheus_client.parser import text_string_to_metric_families

from integrations_common.settings import TopicSettings
from integrations_testkit.kafka_tools import prefixed_topics
from tests.e2e.harness import (
    REPO,
    Platform,
    RunConfig,
    ServiceProcess,
    free_port,
    service_environment,
)


@dataclass(frozen=True)
class WideRunConfig(RunConfig):
    """A run whose topics have `partitions` partitions (the harness's default is 3)."""

    partitions: int = 6

    @property
    def topics(self) -> TopicSettings:
        """This run's topic names, with `partitions` partitions each."""
        return prefixed_topics(f"run-{self.run_id}", partitions=self.partitions)


def wide_run_config(partitions: int, extra_env: dict[str, str]) -> WideRunConfig:
    """Endpoints from the environment (or the local servers), topics of `partitions`."""
    return WideRunConfig(
        kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        mongodb_uri=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017"),
        sqs_endpoint_url=os.environ.get("SQS_ENDPOINT_URL", "http://127.0.0.1:9324"),
        extra_env=extra_env,
        partitions=partitions,
    )


def replica_name(service: str, index: int) -> str:
    """`router` for replica 1, `router-2`, `router-3`, … after it."""
    return service if index == 1 else f"{service}-{index}"


def add_replica(platform: Platform, service: str, index: int) -> ServiceProcess:
    """Register replica `index` (2, 3, …) of `service` (not started); answer it."""
    name = replica_name(service, index)
    existing = platform.services.get(name)
    if existing is not None:
        return existing
    spec = platform.services[service].spec
    port = free_port()
    process = ServiceProcess(
        spec,
        port,
        platform.log_dir / f"{name}.log",
        service_environment(spec, platform.run, port, name),
    )
    platform.services[name] = process
    return process


def running_replicas(platform: Platform, service: str) -> list[str]:
    """Names of the running processes of `service`."""
    return [
        name
        for name, s in platform.services.items()
        if s.spec.name == service and s.process is not None and s.process.poll() is None
    ]


def scale(platform: Platform, service: str, count: int) -> list[str]:
    """Start or SIGTERM replicas of `service` until `count` run (highest index stops first)."""
    to_start = []
    for index in range(1, count + 1):
        name = replica_name(service, index)
        if index > 1:
            add_replica(platform, service, index)
        process = platform.services[name]
        if process.process is None or process.process.poll() is not None:
            to_start.append(name)
    if to_start:
        platform.start(*to_start)  # all at once, then each waits until ready
    for name in running_replicas(platform, service):
        index = 1 if name == service else int(name.rsplit("-", 1)[1])
        if index > count:
            platform.services[name].stop()
    return running_replicas(platform, service)


def group_of(platform: Platform, service: str) -> str:
    """The consumer group of a worker in this run (the harness names it)."""
    return f"run-{platform.run.run_id}-{service}"


async def group_state(bootstrap_servers: str, group: str) -> tuple[str, int]:
    """The group's state (`Stable`, `PreparingRebalance`, ...) and its member count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    async with asyncio.timeout(30):
        await admin.start()
        try:
            response = (await admin.describe_consumer_groups([group]))[0].to_object()
        finally:
            await admin.close()
    described = response["groups"][0]
    return str(described["state"]), len(described["members"])


async def wait_group(bootstrap_servers: str, group: str, members: int, timeout: float) -> float:
    """Wait until `group` is Stable with `members` members; answer the seconds it took."""
    began = time.monotonic()
    state, count = "", -1
    while time.monotonic() - began < timeout:
        state, count = await group_state(bootstrap_servers, group)
        if state == "Stable" and count == members:
            return time.monotonic() - began
        await asyncio.sleep(0.2)
    raise RuntimeError(f"group {group}: {state} with {count} members, not {members}, in {timeout}s")


def partition_of(integration_id: str, partitions: int) -> int:
    """The partition the jobs of an integration land on (they are keyed by its id)."""
    hashed: int = murmur2(integration_id.encode())
    return (hashed & 0x7FFFFFFF) % partitions


async def balanced_webhooks(
    api: str, token: str, urls: list[str], *, per_partition: int, partitions: int, name: str
) -> list[str]:
    """Create webhook integrations until each partition has `per_partition` of them (deleting
    the ones over), so that replicas get equal shares; urls are used round robin."""
    kept: list[str] = []
    count = dict.fromkeys(range(partitions), 0)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        for n in range(per_partition * partitions * 20):
            if len(kept) == per_partition * partitions:
                return kept
            response = await client.post(
                "/v2/integrations",
                headers=headers,
                json={
                    "data": {
                        "type": "integration",
                        "name": f"{name} {n}",
                        "integration_type": "webhook",
                        "observes": ["order.paid"],
                        "configuration": {
                            "url": urls[len(kept) % len(urls)],
                            "secret_key": f"{name}-secret-{n}",
                        },
                    }
                },
            )
            response.raise_for_status()
            integration_id: str = response.json()["data"]["id"]
            partition = partition_of(integration_id, partitions)
            if count[partition] < per_partition:
                count[partition] += 1
                kept.append(integration_id)
            else:
                deleted = await client.delete(f"/v2/integrations/{integration_id}", headers=headers)
                deleted.raise_for_status()
    raise RuntimeError(f"could not spread integrations evenly: {count}")


async def delivered_by_replica(platform: Platform, service: str, transport: str) -> dict[str, int]:
    """Successful attempts so far per running replica of `service`, from its `/metrics`."""
    counts: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=5) as client:
        for name in running_replicas(platform, service):
            text = (await client.get(f"{platform.services[name].base_url}/metrics")).text
            counts[name] = sum(
                int(sample.value)
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "integrations_delivery_attempts_total"
                and sample.labels.get("outcome") == "succeeded"
                and sample.labels.get("transport") == transport
            )
    return counts


def replace_section(page: str, heading: str, body: str) -> str:
    """`page` with the section `## heading` (up to the next `## `) replaced by `body`, or with
    `body` appended when there is no such section."""
    marker = f"## {heading}\n"
    start = page.find(marker)
    if start < 0:
        return page.rstrip("\n") + "\n\n" + body.rstrip("\n") + "\n"
    end = page.find("\n## ", start + len(marker))
    tail = "" if end < 0 else page[end:]
    return page[:start] + body.rstrip("\n") + "\n" + tail


def add_stand_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every replica benchmark shares: layout, drain, log wait, docs."""
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--per-partition", type=int, default=2, help="integrations per partition")
    parser.add_argument("--drain", type=float, default=120, help="max seconds to drain")
    parser.add_argument("--log-wait", type=float, default=60, help="max seconds for the logs")
    parser.add_argument("--no-docs", dest="docs", action="store_false")


def exit_unless_complete(result: dict[str, Any]) -> None:
    """Exit 1, saying why, when the run's work was not complete (its figures are no result)."""
    if result["failures"]:
        sys.stdout.write("NOT A RESULT: " + "; ".join(result["failures"]) + "\n")
        sys.exit(1)


def save_result(
    out_dir: Path, result: dict[str, Any], *, heading: str, section: str | None
) -> None:
    """`result.json` in `out_dir`; and, given a `section`, it replaces `## heading` of
    docs/benchmarks.md."""
    (out_dir / "result.json").write_text(json.dumps(result, indent=2))
    if section is not None:
        page = REPO / "docs" / "benchmarks.md"
        page.write_text(replace_section(page.read_text(), heading, section))


def server_pids() -> dict[str, int]:
    """Pids of the local Kafka and store, found by their listening ports (`ss -ltnp`); empty
    when they run elsewhere or `ss` is missing."""
    ports = {"kafka": "9092", "mongodb": "27017"}
    try:
        listing = subprocess.run(
            ["ss", "-ltnpH"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    pids = {}
    for line in listing.splitlines():
        for name, port in ports.items():
            if f":{port} " in line and "127.0.0.1" in line and "pid=" in line:
                pids[name] = int(line.split("pid=", 1)[1].split(",", 1)[0])
    return pids


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The machine's CPU busy share between two `machine_ticks` (every process, ours or not)."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return round(100 * busy / max(total, 1), 1)
