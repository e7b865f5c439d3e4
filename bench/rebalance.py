"""`make bench-rebalance`: routers and webhook senders scaled 1 -> 3 -> 1 during a load step.

One isolated platform (topics of `--partitions` partitions), a fast receiver in its own process,
webhook integrations spread evenly over the partitions, and a steady load of `--rate` events/s
for the whole step. While it runs: `--hold` s with one router and one sender; then two more of
each start (the consumer groups rebalance); `--hold` s with three of each; then the two extra of
each get SIGTERM (they leave their groups, which rebalance again); `--hold` s with one of each.
Latency (the event's `time` to its first arrival at the receiver) is reported per phase, the
phases cut by the time each event was sent: `scaling` phases run from the first start (or
SIGTERM) until both groups are stable with the new member count.

Completeness: every delivery of every event arrived, every attempt log on the logs topic was
stored, every process that should run is ready and both groups are stable at the end, and the
load kept its rate. Otherwise the run prints NOT A RESULT and exits 1 (after writing
results/rebalance-<stamp>/result.json; the docs section only when complete).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.e2e_bench import check_logs, wait_for_arrivals
from bench.load import LoadGenerator
from bench.replicas import (
    add_stand_arguments,
    balanced_webhooks,
    busy_percent,
    exit_unless_complete,
    group_of,
    machine_ticks,
    running_replicas,
    save_result,
    scale,
    wait_group,
    wide_run_config,
)
from bench.report import machine, percentile
from bench.stand import close_stand, open_stand
from integrations_common.jobs import job_id_for
from tests.e2e.harness import Platform
from tests.e2e.tokens import mint_token

STORE_ID = "rebalance-store"
ORG_ID = "rebalance-org"
SCALED = ("router", "webhook-sender")
HEADING = "Rebalance under load"


def say(message: str) -> None:
    """Progress on stdout, at once."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


async def scale_both(platform: Platform, count: int, label: str) -> tuple[float, float, float]:
    """Scale routers and senders to `count`; answer (began, processes ready, groups stable)."""
    began = time.time()
    for service in SCALED:
        await asyncio.to_thread(scale, platform, service, count)
    ready = time.time()
    for service in SCALED:
        await wait_group(
            platform.run.kafka_bootstrap_servers, group_of(platform, service), count, 120
        )
    stable = time.time()
    say(
        f"  {label}: processes ready after {ready - began:.1f} s, groups stable after "
        f"{stable - began:.1f} s"
    )
    return began, ready, stable


async def steady(generator: LoadGenerator, rate: float, stop: asyncio.Event) -> int:
    """Emit `rate` events/s, one second at a time, until `stop`; answers the count."""
    emitted = 0
    while not stop.is_set():
        emitted += await generator.run(rate=rate, duration=1.0)
    return emitted


async def step(
    args: argparse.Namespace, platform: Platform, generator: LoadGenerator, port: int, width: int
) -> tuple[list[tuple[str, float]], list[str], float]:
    """The load step with its two scalings; answers the phases, what failed, the machine's
    busy share."""
    failures: list[str] = []
    ticks = machine_ticks()
    began = time.time()
    stop = asyncio.Event()
    loader = asyncio.create_task(steady(generator, args.rate, stop))
    phases = [("1 router, 1 sender", began)]
    await asyncio.sleep(args.hold)
    up = await scale_both(platform, 3, "scale 1 -> 3")
    phases += [("scaling 1 -> 3", up[0]), ("3 routers, 3 senders", up[2])]
    await asyncio.sleep(args.hold)
    down = await scale_both(platform, 1, "scale 3 -> 1")
    phases += [("scaling 3 -> 1", down[0]), ("1 router, 1 sender (after)", down[2])]
    await asyncio.sleep(args.hold)
    stop.set()
    emitted = await loader
    ended = time.time()
    achieved = emitted / max(ended - began, 1e-6)
    if achieved < 0.95 * args.rate:
        failures.append(f"the load reached {achieved:.1f} of {args.rate:g} events/s")
    expected = len(generator.sent) * width
    if await wait_for_arrivals(port, expected, args.drain, "drain") < expected:
        failures.append(f"not every delivery arrived within {args.drain:g} s")
    busy = busy_percent(ticks, machine_ticks())
    for service in SCALED:
        running = running_replicas(platform, service)
        if running != [service]:
            failures.append(f"{service}: running {running} at the end")
    return phases, failures, busy


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The step; answers the result document."""
    config = wide_run_config(args.partitions, {"API_RATE_LIMIT__ENABLED": "false"})
    stand = await open_stand(
        "rebalance", config, partitions=args.partitions, store_id=STORE_ID, org_id=ORG_ID
    )
    ids: list[str] = []
    phases: list[tuple[str, float]] = []
    failures: list[str] = []
    logs: dict[str, Any] = {}
    warm: set[str] = set()
    busy = 0.0
    try:
        token = mint_token(config, store_id=STORE_ID, org_id=ORG_ID)
        ids = await balanced_webhooks(
            stand.platform.api_url,
            token,
            [f"http://127.0.0.1:{stand.port}/hook"],
            per_partition=args.per_partition,
            partitions=args.partitions,
            name="rebalance",
        )
        await asyncio.sleep(2)
        await stand.generator.emit_one()
        if await wait_for_arrivals(stand.port, len(ids), 60, "warm-up") < len(ids):
            raise RuntimeError("the warm-up event was not delivered")
        warm = set(stand.generator.sent)
        await stand.records.start()
        phases, failures, busy = await step(
            args, stand.platform, stand.generator, stand.port, len(ids)
        )
        events = set(stand.generator.sent) - warm
        jobs = {job_id_for(e, i) for e in events for i in ids}
        logs = await check_logs(
            stand.records, stand.store, config.database, jobs, wait=args.log_wait, label="logs"
        )
        if logs["logs_stored"] < logs["attempts_made"] or logs["attempts_made"] < len(jobs):
            failures.append(
                f"logs stored {logs['logs_stored']} of {logs['attempts_made']} attempts for "
                f"{len(jobs)} jobs"
            )
    finally:
        await close_stand(stand)
    return summarise(
        args=args,
        sent={e: t for e, t in stand.generator.sent.items() if e not in warm},
        ids=ids,
        phases=phases,
        dump=stand.dump,
        failures=failures,
        logs=logs,
        busy=busy,
        out_dir=stand.out_dir,
        stamp=stand.stamp,
    )


def summarise(
    *,
    args: argparse.Namespace,
    sent: dict[str, float],
    ids: list[str],
    phases: list[tuple[str, float]],
    dump: Path,
    failures: list[str],
    logs: dict[str, Any],
    busy: float,
    out_dir: Path,
    stamp: str,
) -> dict[str, Any]:
    """Lost, duplicates and latency per phase; writes result.json (and the docs if complete)."""
    job_index = {job_id_for(e, i): e for e in sent for i in ids}
    first: dict[str, float] = {}
    seen: Counter[str] = Counter()
    for line in dump.read_text().splitlines():
        record = json.loads(line)
        job = record["webhook_id"]
        if job in job_index:
            seen[job] += 1
            first[job] = min(first.get(job, record["t"]), record["t"])
    lost = len(job_index) - len(first)
    duplicates = sum(n - 1 for n in seen.values())
    if lost:
        failures = [*failures, f"{lost} deliveries lost"]
    rows = []
    bounds = [*phases, ("end", float("inf"))]
    for (name, start), (_, end) in itertools.pairwise(bounds):
        events = {e for e, t in sent.items() if start <= t < end}
        latencies = [
            (first[j] - sent[e]) * 1000 for j, e in job_index.items() if e in events and j in first
        ]
        rows.append(
            {
                "phase": name,
                "seconds": round(min(end, max(sent.values(), default=start)) - start, 1),
                "events": len(events),
                "deliveries": len(latencies),
                "duplicates": sum(
                    seen[j] - 1 for j, e in job_index.items() if e in events and seen[j] > 1
                ),
                "p50_ms": round(percentile(latencies, 50), 1),
                "p99_ms": round(percentile(latencies, 99), 1),
                "max_ms": round(max(latencies, default=0.0), 1),
            }
        )
    result: dict[str, Any] = {
        "command": (
            f"make bench-rebalance REBALANCE_ARGS='{' '.join(sys.argv[1:])}'"
            if sys.argv[1:]
            else "make bench-rebalance"
        ),
        "started_at": stamp,
        "machine": machine(),
        "machine_busy": busy,
        "args": vars(args),
        "integrations": len(ids),
        "expected": len(job_index),
        "delivered": len(first),
        "lost": lost,
        "duplicates": duplicates,
        "phases": rows,
        "logs": logs,
        "failures": failures,
    }
    wanted = not failures and args.docs
    save_result(out_dir, result, heading=HEADING, section=markdown(result) if wanted else None)
    return result


READING = [
    "",
    "Reading it: a rebalance pauses a group's consumption (Kafka's eager protocol, the one",
    "aiokafka speaks, revokes every partition of every member; each member finishes the requests",
    "already started, hands the rest over and commits before it rejoins), and the events sent",
    "meanwhile wait.",
    "A member that leaves by SIGTERM says so (LeaveGroup), so scaling in rebalances at once;",
    "scaling out waits for the new processes to start. Here the two new routers and senders",
    "start on the same 2 cores as the pipeline, so the scale-out phase also measures their",
    "start-up eating the pipeline's CPU (the backlog then drains in the next phase); on a",
    "cluster new pods start on other cores. Graceful leaves and joins lose and duplicate",
    "nothing: offsets are committed for what is done before partitions move.",
    "",
]


def markdown(result: dict[str, Any]) -> str:
    """The "Rebalance under load" section of docs/benchmarks.md."""
    args = result["args"]
    lines = [
        f"## {HEADING}",
        "",
        f"Routers and webhook senders scaled 1 → 3 → 1 during one load step: "
        f"{args['rate']:g} `order.paid` events/s to {result['integrations']} webhook "
        f"integrations ({args['rate'] * result['integrations']:g} deliveries/s, below this "
        f"machine's ceiling so that latency shows the rebalances, not a backlog), spread evenly "
        f"over {args['partitions']} partitions, one fast receiver process. {args['hold']:g} s "
        "with one router and one sender, then two more of each start; once both groups are "
        f"stable, {args['hold']:g} s with three of each; then the two extra of each get SIGTERM "
        "(they leave their groups), and the step goes on with one of each. Latency: the event's "
        "`time` to its first arrival, by the phase in which the event was sent; a *scaling* "
        "phase runs from the first start (or SIGTERM) until both groups are stable with the new "
        "member count. Complete: every delivery arrived, every attempt log was stored, the load "
        "kept its rate (the run fails otherwise).",
        "",
        f"Reproduce: `{result['command']}` (run at {result['started_at']}; 2 CPUs shared with "
        f"other sessions' work; the machine was {result['machine_busy']:g} % busy over the step, "
        "everyone's work included).",
        "",
        f"Lost: **{result['lost']}** of {result['expected']} deliveries; duplicates: "
        f"**{result['duplicates']}** "
        f"({100 * result['duplicates'] / max(result['delivered'], 1):.2f} %).",
        "",
        "| phase | seconds | events | deliveries | duplicates | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["phases"]:
        lines.append(
            f"| {r['phase']} | {r['seconds']:g} | {r['events']} | {r['deliveries']} | "
            f"{r['duplicates']} | {r['p50_ms']:g} | {r['p99_ms']:g} | {r['max_ms']:g} |"
        )
    lines.extend(READING)
    return "\n".join(lines)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=40, help="offered events/s")
    parser.add_argument("--hold", type=float, default=15, help="seconds per steady phase")
    add_stand_arguments(parser)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    say(json.dumps({k: v for k, v in result.items() if k not in ("machine", "logs")}))
    exit_unless_complete(result)


if __name__ == "__main__":
    main()
