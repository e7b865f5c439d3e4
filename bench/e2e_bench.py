"""`make bench`: the end-to-end benchmark of the whole platform.

Starts every service (isolated topics and database), a fast receiver in its own process, and K
webhook integrations on it; then offers stepped loads of `order.paid` events and measures the
sustained deliveries/s, latency from the event's `time` to arrival, CPU per process, and where it
saturates. Per step it also checks the attempt logs (`bench.logprobe`): attempts made (records on
the run's logs topic) against documents stored, the lag from an attempt's end to its log being
readable through the API, and the latency of the store-wide log list. Writes
results/bench-<stamp>/result.json, PNG plots and docs/benchmarks.md; exits 1 afterwards if a
step's logs were not all stored, or a sampled log never became readable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from bench.cpu import CpuMeter, pid_from_file
from bench.load import EVENT_TYPE, LoadGenerator
from bench.logprobe import (
    AttemptRecords,
    LagSampler,
    ListProbe,
    api_client,
    stored_ids,
)
from bench.memory import RssMeter
from bench.report import (
    LOCAL_STORE,
    StepResult,
    as_dict,
    log_failures,
    machine,
    markdown,
    percentile,
    plot,
    saturation,
    store_description,
)
from bench.stand import ORG_ID, STORE_ID, close_stand, open_stand
from integrations_common.jobs import job_id_for
from tests.e2e.harness import REPO, RunConfig
from tests.e2e.tokens import mint_token


def say(message: str) -> None:
    """Progress on stdout, at once."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


async def create_integrations(api: str, token: str, url: str, count: int) -> list[str]:
    """K webhook integrations that observe the benchmark's event type."""
    ids = []
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        for n in range(count):
            response = await client.post(
                "/v2/integrations",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "data": {
                        "type": "integration",
                        "name": f"bench {n}",
                        "integration_type": "webhook",
                        "observes": [EVENT_TYPE],
                        "configuration": {"url": url, "secret_key": f"bench-secret-{n}"},
                    }
                },
            )
            response.raise_for_status()
            ids.append(response.json()["data"]["id"])
    return ids


async def arrivals_now(receiver_port: int) -> int:
    """How many deliveries the receiver has accepted so far."""
    async with httpx.AsyncClient(timeout=5) as client:
        count: int = (await client.get(f"http://127.0.0.1:{receiver_port}/count")).json()[
            "arrivals"
        ]
        return count


async def wait_for_arrivals(port: int, target: int, timeout: float, label: str) -> int:
    """Poll the receiver, printing progress, until `target` arrivals or `timeout`."""
    deadline = time.monotonic() + timeout
    count = await arrivals_now(port)
    while count < target and time.monotonic() < deadline:
        await asyncio.sleep(1)
        count = await arrivals_now(port)
        say(f"  {label}: {count}/{target} delivered")
    return count


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; answers the result document."""
    run_config = RunConfig(
        kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        mongodb_uri=os.environ.get("MONGODB_URI", LOCAL_STORE),
        sqs_endpoint_url=os.environ.get("SQS_ENDPOINT_URL", "http://127.0.0.1:9324"),
        # The log probes are one tenant polling many jobs at once: a per-tenant limit would
        # measure itself, not the record.
        extra_env={"API_RATE_LIMIT__ENABLED": "false"},
    )
    stand = await open_stand("bench", run_config, partitions=run_config.topics.partitions)
    steps_meta: list[dict[str, Any]] = []
    lag_timeline: list[tuple[float, float]] = []
    integration_ids: list[str] = []
    try:
        token = mint_token(run_config, store_id=STORE_ID, org_id=ORG_ID)
        integration_ids = await create_integrations(
            stand.platform.api_url, token, f"http://127.0.0.1:{stand.port}/hook", args.integrations
        )
        say(f"{len(integration_ids)} integrations created; warming up")
        await asyncio.sleep(2)
        await stand.generator.emit_one()
        if await wait_for_arrivals(stand.port, args.integrations, 60, "warm-up") < 1:
            raise RuntimeError("no delivery arrived during warm-up")
        await stand.records.start()
        pids = {
            **stand.platform.pids(),
            "receiver": stand.receiver.pid,
            "load-generator": os.getpid(),
        }
        pids.update(infra_pids())
        rates: list[float | None] = [float(r) for r in args.rates.split(",") if r]
        if args.max_step:
            rates.append(None)
        async with (
            api_client(stand.platform.api_url, token, 8) as poll_client,
            api_client(stand.platform.api_url, token, 2) as list_client,
        ):
            runner = StepRunner(
                args=args,
                generator=stand.generator,
                receiver_port=stand.port,
                records=stand.records,
                store=stand.store,
                database=run_config.database,
                pids=pids,
                integration_ids=integration_ids,
                poll_client=poll_client,
                list_client=list_client,
            )
            for index, rate in enumerate(rates):
                label = f"step {index + 1}/{len(rates)} ({rate or 'max'} events/s)"
                steps_meta.append(await runner.step(rate, label))
                lag_timeline.extend(steps_meta[-1].pop("lag_timeline"))
    finally:
        await close_stand(stand)
    return summarise(
        args=args,
        sent=stand.generator.sent,
        integration_ids=integration_ids,
        steps_meta=steps_meta,
        lag_timeline=lag_timeline,
        dump=stand.dump,
        out_dir=stand.out_dir,
        stamp=stand.stamp,
    )


@dataclass
class StepRunner:
    """Runs one load step: emission, drain, and the attempt-log measurements around them."""

    args: argparse.Namespace
    generator: LoadGenerator
    receiver_port: int
    records: AttemptRecords
    store: AsyncMongoClient[dict[str, Any]]
    database: str
    pids: dict[str, int]
    integration_ids: list[str]
    poll_client: httpx.AsyncClient
    list_client: httpx.AsyncClient

    async def step(self, rate: float | None, label: str) -> dict[str, Any]:
        """Offer `rate` events/s (None: unbounded); answers the step's raw measurements."""
        args, generator = self.args, self.generator
        before = set(generator.sent)
        sampler = LagSampler(self.poll_client, self.integration_ids, per_s=args.lag_samples_per_s)
        probe = ListProbe(self.list_client, per_s=args.list_per_s)
        stop_picking, stop_probe = asyncio.Event(), asyncio.Event()
        meter = CpuMeter(self.pids)
        memory, stop_memory = RssMeter(self.pids), asyncio.Event()
        meter.start()
        started = time.time()
        picking = asyncio.create_task(sampler.pick_while(generator.sent, stop_picking))
        probing = asyncio.create_task(probe.run(stop_probe))
        sampling = asyncio.create_task(memory.run(stop_memory))
        say(f"{label}: emitting for {args.duration}s")
        emitted = await generator.run(rate=rate, duration=args.duration)
        stop_picking.set()
        expected_total = len(generator.sent) * args.integrations
        await wait_for_arrivals(self.receiver_port, expected_total, args.drain, label)
        cpu = meter.stop(time.time() - started)
        stop_probe.set()
        stop_memory.set()
        await asyncio.gather(picking, probing, sampling)
        events = set(generator.sent) - before
        jobs = {job_id_for(e, i) for e in events for i in self.integration_ids}
        logs = await check_logs(
            self.records, self.store, self.database, jobs, wait=args.log_wait, label=label
        )
        # Once the logs are stored, a sampled job's log gets its own wait to become readable.
        await sampler.settle(args.log_wait)
        seen = [
            (s.seen_at, s.lag_ms) for s in sampler.samples if s.seen_at and s.lag_ms is not None
        ]
        lags = [lag for _, lag in seen]
        unseen_attempted = sum(
            1
            for s in sampler.samples
            if s.seen_at is None and self.records.ids_by_job.get(s.job_id)
        )
        say(
            f"  {label}: logs stored {logs['logs_stored']}/{logs['attempts_made']}; "
            f"lag samples {len(lags)}/{len(sampler.samples)} seen "
            f"({unseen_attempted} unseen though attempted), "
            f"p50 {percentile(lags, 50):.0f} ms p99 {percentile(lags, 99):.0f} ms; "
            f"GET logs p99 {percentile(probe.durations_ms, 99):.0f} ms "
            f"({len(probe.durations_ms)} requests, {probe.failed} failed)"
        )
        return {
            "rate": rate,
            "events": events,
            "started": started,
            "emitted": emitted,
            "cpu": cpu,
            "rss": {name: round(mib, 1) for name, mib in memory.peak.items()},
            "logs": logs,
            "lags": lags,
            "lag_timeline": seen,
            "lag_samples": len(sampler.samples),
            "lag_unseen_attempted": unseen_attempted,
            "list_ms": probe.durations_ms,
            "list_failed": probe.failed,
        }


async def check_logs(
    records: AttemptRecords,
    store: AsyncMongoClient[dict[str, Any]],
    database: str,
    jobs: set[str],
    *,
    wait: float,
    label: str,
) -> dict[str, Any]:
    """Attempts made for `jobs` (read from the logs topic) against log documents stored.

    Notes the attempts on the topic when the drain ended, then waits up to `wait` s for every
    job to have an attempt and every attempt to be stored; answers the counts and the time.
    """
    began = time.monotonic()
    deadline = began + wait
    await records.catch_up(timeout=wait)
    at_drain, _ = records.made(jobs)
    stored: set[str] = set()
    while True:
        await records.catch_up(timeout=max(1.0, deadline - time.monotonic()))
        made, records_made = records.made(jobs)
        scan_began = time.monotonic()
        try:
            stored = await stored_ids(store, database, jobs)
        except PyMongoError as exc:
            say(f"  {label}: cannot read the stored logs: {exc!r}")
        scan_s = time.monotonic() - scan_began
        # Every job has at least one attempt; until then, a log may still be on its way.
        if (made <= stored and len(made) >= len(jobs)) or time.monotonic() >= deadline:
            break
        say(f"  {label}: logs stored {len(stored & made)}/{len(made)}, waiting")
        # The scan reads the whole collection: leave the store at least twice its time.
        await asyncio.sleep(min(max(2.0, 2 * scan_s), max(0.0, deadline - time.monotonic())))
    return {
        "attempts_made": len(made),
        "attempt_records": records_made,
        "logs_stored": len(stored),
        "attempts_at_drain": len(at_drain),
        "unstored_at_drain": len(at_drain - stored),
        "logs_wait_s": round(time.monotonic() - began, 1),
        "unreadable_records": records.unreadable,
    }


def infra_pids() -> dict[str, int]:
    """Pids of the local Kafka and store, when `make infra-up` started them."""
    pids = {name: pid_from_file(REPO / ".run" / f"{name}.pid") for name in ("kafka", "mongodb")}
    return {name: pid for name, pid in pids.items() if pid is not None}


def summarise(
    *,
    args: argparse.Namespace,
    sent: dict[str, float],
    integration_ids: list[str],
    steps_meta: list[dict[str, Any]],
    lag_timeline: list[tuple[float, float]],
    dump: Path,
    out_dir: Path,
    stamp: str,
) -> dict[str, Any]:
    """Per-step statistics, plots, JSON and markdown from the receiver's arrivals."""
    event_of = {job_id_for(e, i): e for e in sent for i in integration_ids}
    event_of.update({e: e for e in sent})
    arrivals: dict[str, list[tuple[str, float]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    for line in dump.read_text().splitlines():
        record = json.loads(line)
        event_id = event_of.get(record["id"]) or event_of.get(record["webhook_id"])
        if event_id is None:
            continue
        key = (event_id, record["webhook_id"] or record["id"])
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        arrivals[event_id].append((record["id"], record["t"]))
    timeline = sorted((t, (t - sent[e]) * 1000) for e, hits in arrivals.items() for _, t in hits)
    steps = []
    for meta in steps_meta:
        hits = [(t, (t - sent[e]) * 1000) for e in meta["events"] for _, t in arrivals.get(e, [])]
        last = max((t for t, _ in hits), default=meta["started"])
        latencies = [ms for _, ms in hits]
        window = max(last - meta["started"], 1e-6)
        steps.append(
            StepResult(
                offered_events_per_s=meta["rate"],
                integrations=len(integration_ids),
                duration_s=args.duration,
                emitted=meta["emitted"],
                expected_deliveries=meta["emitted"] * len(integration_ids),
                delivered=len(hits),
                deliveries_per_s=round(len(hits) / window, 1),
                p50_ms=round(percentile(latencies, 50), 1),
                p95_ms=round(percentile(latencies, 95), 1),
                p99_ms=round(percentile(latencies, 99), 1),
                max_ms=round(max(latencies, default=0.0), 1),
                cpu_percent=meta["cpu"],
                rss_peak_mib=meta["rss"],
                attempts_made=meta["logs"]["attempts_made"],
                attempt_records=meta["logs"]["attempt_records"],
                logs_stored=meta["logs"]["logs_stored"],
                attempts_at_drain=meta["logs"]["attempts_at_drain"],
                unstored_at_drain=meta["logs"]["unstored_at_drain"],
                logs_wait_s=meta["logs"]["logs_wait_s"],
                log_lag_samples=meta["lag_samples"],
                log_lag_seen=len(meta["lags"]),
                log_lag_unseen_attempted=meta["lag_unseen_attempted"],
                log_lag_p50_ms=round(percentile(meta["lags"], 50), 1),
                log_lag_p99_ms=round(percentile(meta["lags"], 99), 1),
                list_requests=len(meta["list_ms"]),
                list_failed=meta["list_failed"],
                list_p50_ms=round(percentile(meta["list_ms"], 50), 1),
                list_p99_ms=round(percentile(meta["list_ms"], 99), 1),
            )
        )
    result: dict[str, Any] = {
        "command": f"make bench BENCH_ARGS='{' '.join(sys.argv[1:])}'",
        "started_at": stamp,
        "machine": machine(),
        "steps": [as_dict(s) for s in steps],
        "duplicates": duplicates,
        "saturation": saturation(steps),
        "store": store_description(os.environ.get("MONGODB_URI", LOCAL_STORE)),
        "log_wait_s": args.log_wait,
        "lag_samples_per_s": args.lag_samples_per_s,
        "list_per_s": args.list_per_s,
        "log_failures": log_failures(steps),
    }
    (out_dir / "result.json").write_text(json.dumps(result, indent=2))
    docs = REPO / "docs"
    plot(steps, timeline, docs, lag_timeline=lag_timeline)
    page = docs / "benchmarks.md"
    page.write_text(markdown(result, page.read_text() if page.exists() else ""))
    return result


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--integrations", type=int, default=10, help="K webhook integrations")
    parser.add_argument("--rates", default="20,50,100,200", help="offered events/s, per step")
    parser.add_argument("--duration", type=float, default=10, help="seconds per step")
    parser.add_argument("--drain", type=float, default=60, help="max seconds to drain a step")
    parser.add_argument("--no-max-step", dest="max_step", action="store_false")
    parser.add_argument(
        "--log-wait", type=float, default=60, help="max seconds after a step's drain for its logs"
    )
    parser.add_argument(
        "--lag-samples-per-s", type=float, default=3, help="jobs sampled for log lag, per second"
    )
    parser.add_argument(
        "--list-per-s", type=float, default=3, help="GET /v2/integrations/logs per second"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for step in result["steps"]:
        say(json.dumps(step))
    say(f"saturation: {result['saturation']}; duplicates: {result['duplicates']}")
    if result["log_failures"]:
        say("FAILED: " + "; ".join(result["log_failures"]))
        sys.exit(1)


if __name__ == "__main__":
    main()
