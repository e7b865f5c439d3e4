"""`make bench-scaling`: deliveries/s with 1, 2 and 3 webhook-sender replicas on 6 partitions.

One isolated platform (topics of `--partitions` partitions), a fast receiver in its own process,
and webhook integrations spread evenly over the partitions (`--per-partition` each, so that every
replica's share of partitions carries the same load). For each replica count, the bench starts
or stops webhook-sender processes (one consumer group), waits until a probe event is delivered
through the new group, then offers `--rate` events/s for `--duration` s (more than the pipeline
can take on this machine) and waits for every delivery. Per step: deliveries/s (distinct
deliveries of the step's events over the time from the step's start to the last arrival),
latency p50/p99, the CPU of each process and each sender replica, the deliveries each replica
made (its `/metrics`), and the efficiency per replica: deliveries/s with N replicas divided by N
times the deliveries/s with one.

Completeness: a step counts only when every delivery of its events arrived, every attempt log on
the logs topic was stored, and every running replica delivered some of the step's jobs (no
replica idle, no partition stalled). Otherwise the run prints NOT A RESULT and exits 1 (after
writing results/scaling-<stamp>/result.json; docs only when the run is complete).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter
from bench.e2e_bench import arrivals_now, check_logs, wait_for_arrivals
from bench.load import LoadGenerator
from bench.logprobe import AttemptRecords
from bench.replicas import (
    add_stand_arguments,
    balanced_webhooks,
    busy_percent,
    delivered_by_replica,
    exit_unless_complete,
    group_of,
    machine_ticks,
    running_replicas,
    save_result,
    scale,
    server_pids,
    wait_group,
    wide_run_config,
)
from bench.report import machine, percentile
from bench.stand import close_stand, open_stand
from integrations_common.jobs import job_id_for
from tests.e2e.harness import Platform
from tests.e2e.tokens import mint_token

STORE_ID = "scaling-store"
ORG_ID = "scaling-org"
SENDER = "webhook-sender"
HEADING = "Scaling webhook senders"


def say(message: str) -> None:
    """Progress on stdout, at once."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


async def probe(generator: LoadGenerator, port: int, expected: int, label: str) -> None:
    """One event through the pipeline: the group has settled once it is delivered."""
    before = await arrivals_now(port)
    await generator.emit_one()
    if await wait_for_arrivals(port, before + expected, 90, label) < before + expected:
        raise RuntimeError(f"{label}: the probe event was not delivered in 90 s")


def read_arrivals(dump: Path) -> list[dict[str, Any]]:
    """The receiver's arrivals (written when it stops)."""
    return [json.loads(line) for line in dump.read_text().splitlines() if line]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every replica count in turn on one platform; answers the result document."""
    config = wide_run_config(args.partitions, {"API_RATE_LIMIT__ENABLED": "false"})
    stand = await open_stand(
        "scaling", config, partitions=args.partitions, store_id=STORE_ID, org_id=ORG_ID
    )
    steps: list[dict[str, Any]] = []
    ids: list[str] = []
    try:
        token = mint_token(config, store_id=STORE_ID, org_id=ORG_ID)
        ids = await balanced_webhooks(
            stand.platform.api_url,
            token,
            [f"http://127.0.0.1:{stand.port}/hook"],
            per_partition=args.per_partition,
            partitions=args.partitions,
            name="scaling",
        )
        say(f"{len(ids)} integrations, {args.per_partition} per partition")
        await asyncio.sleep(2)
        await probe(stand.generator, stand.port, len(ids), "warm-up")
        await stand.records.start()
        for count in [int(n) for n in args.replicas.split(",")]:
            names = await asyncio.to_thread(scale, stand.platform, SENDER, count)
            settled = await wait_group(
                config.kafka_bootstrap_servers, group_of(stand.platform, SENDER), count, 120
            )
            say(f"{count} {SENDER} replica(s): {names}; group stable after {settled:.1f} s")
            await probe(stand.generator, stand.port, len(ids), f"{count} replicas settle")
            steps.append(
                await step(
                    args,
                    stand.platform,
                    stand.generator,
                    stand.records,
                    stand.store,
                    stand.port,
                    ids,
                    count,
                    {"receiver": stand.receiver.pid},
                )
            )
    finally:
        await close_stand(stand)
    return summarise(
        args,
        steps,
        stand.generator.sent,
        ids,
        read_arrivals(stand.dump),
        stand.out_dir,
        stand.stamp,
    )


async def step(  # noqa: PLR0917 - one call site, every part named there
    args: argparse.Namespace,
    platform: Platform,
    generator: LoadGenerator,
    records: AttemptRecords,
    store: Any,
    port: int,
    ids: list[str],
    count: int,
    extra_pids: dict[str, int],
) -> dict[str, Any]:
    """One measured step with `count` sender replicas."""
    label = f"{count} replica(s)"
    before = set(generator.sent)
    pids = {**platform.pids(), **extra_pids, "load-generator": os.getpid(), **server_pids()}
    meter = CpuMeter(pids)
    delivered_before = await delivered_by_replica(platform, SENDER, "webhook")
    meter.start()
    ticks = machine_ticks()
    started = time.time()
    say(f"{label}: emitting {args.rate} events/s for {args.duration} s")
    await generator.run(rate=args.rate, duration=args.duration)
    expected = len(generator.sent) * len(ids)
    await wait_for_arrivals(port, expected, args.drain, label)
    cpu = meter.stop(time.time() - started)
    machine_busy = busy_percent(ticks, machine_ticks())
    delivered_after = await delivered_by_replica(platform, SENDER, "webhook")
    events = set(generator.sent) - before
    jobs = {job_id_for(e, i) for e in events for i in ids}
    logs = await check_logs(
        records, store, platform.run.database, jobs, wait=args.log_wait, label=label
    )
    return {
        "replicas": count,
        "names": running_replicas(platform, SENDER),
        "events": sorted(events),
        "started": started,
        "cpu": cpu,
        "machine_busy": machine_busy,
        "by_replica": {
            name: delivered_after.get(name, 0) - delivered_before.get(name, 0)
            for name in delivered_after
        },
        "logs": logs,
    }


def summarise(  # noqa: PLR0917 - one call site
    args: argparse.Namespace,
    steps: list[dict[str, Any]],
    sent: dict[str, float],
    ids: list[str],
    arrivals: list[dict[str, Any]],
    out_dir: Path,
    stamp: str,
) -> dict[str, Any]:
    """Per-step figures and completeness; writes result.json (and the docs when complete)."""
    event_of = {job_id_for(e, i): e for e in sent for i in ids}
    first: dict[tuple[str, str], float] = {}
    seen: Counter[tuple[str, str]] = Counter()
    for a in arrivals:
        event = event_of.get(a["webhook_id"])
        if event is None:
            continue
        key = (event, a["webhook_id"])
        seen[key] += 1
        first[key] = min(first.get(key, a["t"]), a["t"])
    rows = []
    failures = []
    base = None
    for s in steps:
        keys = [(e, job_id_for(e, i)) for e in s["events"] for i in ids]
        hits = [first[k] for k in keys if k in first]
        latencies = [(first[k] - sent[k[0]]) * 1000 for k in keys if k in first]
        window = max(max(hits, default=s["started"]) - s["started"], 1e-6)
        rate = len(hits) / window
        base = base or rate
        sender_cpu = {n: c for n, c in s["cpu"].items() if n.startswith(SENDER)}
        row = {
            "replicas": s["replicas"],
            "events": len(s["events"]),
            "expected": len(keys),
            "delivered": len(hits),
            "duplicates": sum(seen[k] - 1 for k in keys if seen[k] > 1),
            "deliveries_per_s": round(rate, 1),
            "efficiency": round(rate / (s["replicas"] * base), 2),
            "p50_ms": round(percentile(latencies, 50), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "sender_cpu": sender_cpu,
            "sender_cpu_ms_per_delivery": round(10 * sum(sender_cpu.values()) / max(rate, 1e-6), 3),
            "cpu": s["cpu"],
            "processes_cpu": round(sum(s["cpu"].values()), 1),
            "machine_busy": s["machine_busy"],
            "by_replica": s["by_replica"],
            "logs": s["logs"],
        }
        rows.append(row)
        label = f"{s['replicas']} replica(s)"
        if row["delivered"] < row["expected"]:
            failures.append(f"{label}: {row['expected'] - row['delivered']} deliveries missing")
        if s["logs"]["logs_stored"] < s["logs"]["attempts_made"] or s["logs"][
            "attempts_made"
        ] < len(keys):
            failures.append(
                f"{label}: logs stored {s['logs']['logs_stored']} of "
                f"{s['logs']['attempts_made']} attempts for {len(keys)} jobs"
            )
        idle = [n for n in s["names"] if s["by_replica"].get(n, 0) == 0]
        if idle or len(s["names"]) != s["replicas"]:
            failures.append(f"{label}: replicas {s['names']}, idle: {idle}")
    result: dict[str, Any] = {
        "command": (
            f"make bench-scaling SCALING_ARGS='{' '.join(sys.argv[1:])}'"
            if sys.argv[1:]
            else "make bench-scaling"
        ),
        "started_at": stamp,
        "machine": machine(),
        "load_average_1m_end": os.getloadavg()[0],
        "args": vars(args),
        "integrations": len(ids),
        "steps": rows,
        "failures": failures,
    }
    wanted = not failures and args.docs
    save_result(out_dir, result, heading=HEADING, section=markdown(result) if wanted else None)
    return result


EXPECTATIONS = [
    "",
    "What it shows, and what to expect on a real cluster:",
    "",
    "- Here the machine is the limit, not the sender: every process of the pipeline, Kafka, the",
    "  store, the receiver and the load generator share 2 cores (with other sessions' work), and",
    "  the machine is busy most of each step (machine busy column). More replicas only split the",
    "  same CPU among more processes, each with its own fetches, heartbeats and smaller batches,",
    "  so deliveries/s does not rise, and the sender CPU per delivery grows with the replicas.",
    "  The efficiency per replica measured here is therefore about 1/N by construction; it is the",
    "  cost of replicas on a saturated host, not their benefit.",
    "- On a cluster where each replica has its own core, a replica's ceiling is about",
    "  1,000 / (sender CPU ms per delivery) deliveries/s (the 1-replica row), and throughput",
    "  follows the partitions each replica holds. Kafka gives each of the 6 partitions to one",
    "  member, so with evenly loaded partitions N replicas deliver about 6 / ceil(6 / N) times",
    "  one replica: 1, 2, 3, 3, 3 and 6 times for N = 1 to 6 (4 and 5 replicas leave some holding",
    "  2 partitions, which set the pace), and a 7th replica idles. Expect near-linear scaling",
    "  for 2, 3 and 6 replicas as long as the router, the log writer (each bounded by its own",
    "  topic's partitions), Kafka and the store keep up; choose the partition count for the",
    "  largest replica count wanted (docs/deploy.md, section 4).",
    "- One integration's jobs share a partition (they are keyed by integration id), so a single",
    "  busy integration is served by one replica whatever the replica count.",
    "- Every step's deliveries were shared evenly (deliveries by replica), which is how the",
    "  integrations were spread: 2 per partition.",
    "",
]


def markdown(result: dict[str, Any]) -> str:
    """The "Scaling webhook senders" section of docs/benchmarks.md."""
    args = result["args"]
    lines = [
        f"## {HEADING}",
        "",
        f"Deliveries/s with 1, 2 and 3 webhook-sender replicas (one consumer group) on "
        f"{args['partitions']} partitions: one platform (one router, one log writer), "
        f"{result['integrations']} webhook integrations spread evenly over the partitions "
        f"({args['per_partition']} each) on one fast receiver process, "
        f"{args['rate']:g} events/s offered for {args['duration']:g} s per step (more than this "
        "machine can take), then the step drains. deliveries/s: distinct deliveries of the "
        "step's events over the time from the step's start to its last arrival. Efficiency per "
        "replica: deliveries/s with N replicas / (N x deliveries/s with 1). Sender CPU: each "
        "replica's share of one core over the step; per delivery: the replicas' CPU summed, "
        "divided by deliveries. by replica: the successful attempts each made (its `/metrics`).",
        "A step counts only when every delivery arrived, every attempt log was stored and "
        "every replica delivered (the run fails otherwise).",
        "",
        f"Reproduce: `{result['command']}` (run at {result['started_at']}; 2 CPUs shared with "
        f"other sessions' work, load average {result['load_average_1m_end']:.1f} at the end).",
        "",
        "| replicas | deliveries | deliveries/s | efficiency per replica | p50 ms | p99 ms "
        "| sender CPU % of a core, by replica | sender CPU ms per delivery | deliveries by "
        "replica | other CPU % (router, log-writer, kafka, mongodb) | all measured processes, "
        "% of a core | machine busy % (2 cores, everyone's work) | duplicates |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["steps"]:
        cpu = ", ".join(f"{n} {c:g}" for n, c in sorted(r["sender_cpu"].items()))
        by = ", ".join(f"{n} {c}" for n, c in sorted(r["by_replica"].items()))
        other = ", ".join(
            f"{n} {r['cpu'][n]:g}"
            for n in ("router", "log-writer", "kafka", "mongodb")
            if n in r["cpu"]
        )
        lines.append(
            f"| {r['replicas']} | {r['delivered']}/{r['expected']} | {r['deliveries_per_s']:g} | "
            f"{r['efficiency']:g} | {r['p50_ms']:g} | {r['p99_ms']:g} | {cpu} | "
            f"{r['sender_cpu_ms_per_delivery']:g} | {by} | {other} | {r['processes_cpu']:g} | "
            f"{r['machine_busy']:g} | {r['duplicates']} |"
        )
    lines.extend(EXPECTATIONS)
    return "\n".join(lines)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicas", default="1,2,3", help="sender replica counts, in order")
    parser.add_argument("--rate", type=float, default=150, help="offered events/s per step")
    parser.add_argument("--duration", type=float, default=15, help="seconds of emission per step")
    add_stand_arguments(parser)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for row in result["steps"]:
        say(json.dumps({k: v for k, v in row.items() if k != "logs"}))
    exit_unless_complete(result)


if __name__ == "__main__":
    main()
