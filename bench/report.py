"""Benchmark statistics, plots and the markdown summary."""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StepResult:
    """One offered-load step."""

    offered_events_per_s: float | None
    integrations: int
    duration_s: float
    emitted: int
    expected_deliveries: int
    delivered: int
    deliveries_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    cpu_percent: dict[str, float]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def saturation(steps: list[StepResult]) -> str:
    """Where the platform stopped keeping up, and what was busiest there, in words."""
    for step in steps:
        offered = (step.offered_events_per_s or 0) * step.integrations
        unbounded = step.offered_events_per_s is None
        if unbounded or step.deliveries_per_s < 0.9 * offered or step.p99_ms > 15_000:
            busiest = max(step.cpu_percent.items(), key=lambda kv: kv[1], default=("?", 0.0))
            load = "as fast as the generator could emit" if unbounded else f"{offered:g}/s offered"
            return (
                f"{load}, {step.deliveries_per_s:.0f} deliveries/s sustained with p99 "
                f"{step.p99_ms:.0f} ms; busiest process: {busiest[0]} at {busiest[1]:g} % of a core"
            )
    return "not reached at the offered loads"


def machine() -> dict[str, Any]:
    """A description of the machine the run was on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def plot(steps: list[StepResult], timeline: list[tuple[float, float]], out_dir: Path) -> list[Path]:
    """PNG plots: latency over time, and delivered against offered load."""
    import matplotlib  # noqa: PLC0415 - heavy, only when plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    out_dir.mkdir(parents=True, exist_ok=True)
    latency_png = out_dir / "bench-latency.png"
    throughput_png = out_dir / "bench-throughput.png"

    fig, ax = plt.subplots(figsize=(9, 4))
    if timeline:
        start = timeline[0][0]
        ax.scatter([t - start for t, _ in timeline], [ms for _, ms in timeline], s=2, alpha=0.4)
    ax.set_xlabel("seconds since the first event")
    ax.set_ylabel("event time -> receiver (ms)")
    ax.set_yscale("log")
    ax.set_title("End-to-end webhook latency over the run")
    fig.tight_layout()
    fig.savefig(latency_png, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    rated = [s for s in steps if s.offered_events_per_s is not None]
    offered = [s.offered_events_per_s * s.integrations for s in rated if s.offered_events_per_s]
    ax.plot(offered, [s.deliveries_per_s for s in rated], marker="o", label="delivered")
    ax.plot(offered, offered, linestyle="--", color="grey", label="offered")
    ax.set_xlabel("offered deliveries/s")
    ax.set_ylabel("delivered deliveries/s")
    ax.set_title("Throughput against offered load")
    ax.legend()
    fig.tight_layout()
    fig.savefig(throughput_png, dpi=110)
    plt.close(fig)
    return [latency_png, throughput_png]


def markdown(result: dict[str, Any]) -> str:
    """The docs/benchmarks.md text for a result."""
    rows = [
        "| offered events/s | integrations | deliveries/s | p50 ms | p95 ms | p99 ms "
        "| CPU % of a core |",
        "|---|---|---|---|---|---|---|",
    ]
    for step in result["steps"]:
        offered = step["offered_events_per_s"]
        cpu = ", ".join(f"{k} {v:g}" for k, v in sorted(step["cpu_percent"].items()))
        rows.append(
            f"| {offered if offered is not None else 'max'} | {step['integrations']} | "
            f"{step['deliveries_per_s']:.0f} | {step['p50_ms']:.0f} | {step['p95_ms']:.0f} | "
            f"{step['p99_ms']:.0f} | {cpu} |"
        )
    m = result["machine"]
    return "\n".join(
        [
            "# End-to-end benchmark",
            "",
            "Events go into the events topic; the router, the webhook sender and a local receiver",
            "(aiohttp, its own process, answering 204) do the rest. Latency runs from the event's",
            "`time` to its arrival at the receiver.",
            "",
            f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, "
            f"Python {m['python']}, Linux {m['kernel']}. Kafka, FerretDB and every service run "
            "on the same machine.",
            "",
            f"Reproduce: `{result['command']}` (run at {result['started_at']}).",
            "",
            *rows,
            "",
            f"Saturation: {result['saturation']}.",
            "",
            "![latency](bench-latency.png)",
            "![throughput](bench-throughput.png)",
            "",
        ]
    )


def as_dict(step: StepResult) -> dict[str, Any]:
    """A step as JSON-ready data."""
    return asdict(step)
