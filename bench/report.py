"""Benchmark statistics, plots and the markdown summary."""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The platform's own processes (the RSS column; the servers and the bench are left out).
SERVICES = ("api", "router", "webhook-sender", "queue-sender", "log-writer")


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
    attempts_made: int
    attempt_records: int
    logs_stored: int
    attempts_at_drain: int
    unstored_at_drain: int
    logs_wait_s: float
    log_lag_samples: int
    log_lag_seen: int
    log_lag_unseen_attempted: int
    log_lag_p50_ms: float
    log_lag_p99_ms: float
    list_requests: int
    list_failed: int
    list_p50_ms: float
    list_p99_ms: float
    rss_peak_mib: dict[str, float] = field(default_factory=dict)


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


def largest_rss(steps: list[dict[str, Any]]) -> str:
    """The largest peak RSS of any service in any step, in words."""
    peaks = [
        (mib, name, step["offered_events_per_s"])
        for step in steps
        for name, mib in step.get("rss_peak_mib", {}).items()
        if name in SERVICES
    ]
    if not peaks:
        return "not measured in this run"
    mib, name, offered = max(peaks, key=lambda peak: peak[0])
    at = "the unbounded step" if offered is None else f"{offered:g} events/s"
    return f"the largest service RSS in any step was {name} at {mib:g} MiB ({at})"


def log_failures(steps: list[StepResult]) -> list[str]:
    """Steps whose logs were not all stored, or whose sampled logs never became readable.

    Not stored: an attempt that was on the logs topic when the step's drain ended is not in the
    store after the wait; for a step that drained, also any attempt made for its jobs at all.
    """
    problems = []
    for number, step in enumerate(steps, 1):
        drained = step.delivered >= step.expected_deliveries
        if step.unstored_at_drain or (drained and step.logs_stored < step.attempts_made):
            missing = max(step.unstored_at_drain, step.attempts_made - step.logs_stored)
            problems.append(
                f"step {number}: {missing} of {step.attempts_made} attempt logs not stored "
                f"after {step.logs_wait_s:g} s"
            )
        if step.delivered and not step.attempts_made:
            problems.append(f"step {number}: no attempt log records on the logs topic")
        # A sampled job that was never attempted (a step that did not drain) has no log to read.
        unreadable = (
            step.log_lag_samples - step.log_lag_seen if drained else step.log_lag_unseen_attempted
        )
        if unreadable:
            problems.append(
                f"step {number}: {unreadable} of {step.log_lag_samples} sampled jobs' logs "
                "never readable through the API"
            )
    return problems


LOCAL_STORE = "mongodb://127.0.0.1:27017"


def store_description(uri: str) -> str:
    """Which store a run used, in words (the local one, or whatever `MONGODB_URI` named)."""
    if uri == LOCAL_STORE:
        return "the local mongo-java-server (`infra/mongodb.sh`, on 127.0.0.1)"
    return "the store named by `MONGODB_URI`"


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


def plot(
    steps: list[StepResult],
    timeline: list[tuple[float, float]],
    out_dir: Path,
    *,
    lag_timeline: list[tuple[float, float]] | None = None,
) -> list[Path]:
    """PNG plots: latency over time, delivered against offered load, and the attempt logs."""
    import matplotlib  # noqa: PLC0415 - heavy, only when plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    out_dir.mkdir(parents=True, exist_ok=True)
    latency_png = out_dir / "bench-latency.png"
    throughput_png = out_dir / "bench-throughput.png"
    logs_png = out_dir / "bench-logs.png"

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

    _plot_logs(plt, steps, timeline, lag_timeline or [], logs_png)
    return [latency_png, throughput_png, logs_png]


def _plot_logs(
    plt: Any,
    steps: list[StepResult],
    timeline: list[tuple[float, float]],
    lag_timeline: list[tuple[float, float]],
    path: Path,
) -> None:
    """Sampled log lags over the run, and per step the log lag and list percentiles."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if lag_timeline and timeline:
        start = timeline[0][0]
        points = sorted(lag_timeline)
        left.scatter([t - start for t, _ in points], [ms for _, ms in points], s=6, alpha=0.6)
    left.set_xlabel("seconds since the first event")
    left.set_ylabel("attempt end -> log readable (ms)")
    left.set_yscale("log")
    left.set_title("Sampled log lag over the run")
    labels = [
        f"{(s.offered_events_per_s or 0) * s.integrations:g}" if s.offered_events_per_s else "max"
        for s in steps
    ]
    series = {
        "log lag p50": [s.log_lag_p50_ms for s in steps],
        "log lag p99": [s.log_lag_p99_ms for s in steps],
        "GET /logs p50": [s.list_p50_ms for s in steps],
        "GET /logs p99": [s.list_p99_ms for s in steps],
    }
    for name, values in series.items():
        right.plot(labels, [max(v, 0.1) for v in values], marker="o", label=name)
    right.set_xlabel("offered deliveries/s (step)")
    right.set_ylabel("ms")
    right.set_yscale("log")
    right.set_title("Attempt logs per step")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(result: dict[str, Any], existing: str = "") -> str:
    """The docs/benchmarks.md text for a result, then the preserved sections of `existing`."""
    rows = [
        "| offered events/s | integrations | deliveries/s | p50 ms | p95 ms | p99 ms "
        "| logs stored / attempts | log lag p50 / p99 ms (seen/sampled) "
        "| GET /logs p50 / p99 ms (requests) | CPU % of a core | services' peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in result["steps"]:
        offered = step["offered_events_per_s"]
        cpu = ", ".join(f"{k} {v:g}" for k, v in sorted(step["cpu_percent"].items()))
        rss = ", ".join(
            f"{k} {v:g}" for k, v in sorted(step.get("rss_peak_mib", {}).items()) if k in SERVICES
        )
        failed = f", {step['list_failed']} failed" if step["list_failed"] else ""
        rows.append(
            f"| {offered if offered is not None else 'max'} | {step['integrations']} | "
            f"{step['deliveries_per_s']:.0f} | {step['p50_ms']:.0f} | {step['p95_ms']:.0f} | "
            f"{step['p99_ms']:.0f} | {step['logs_stored']} / {step['attempts_made']} | "
            f"{step['log_lag_p50_ms']:.0f} / {step['log_lag_p99_ms']:.0f} "
            f"({step['log_lag_seen']}/{step['log_lag_samples']}) | "
            f"{step['list_p50_ms']:.0f} / {step['list_p99_ms']:.0f} "
            f"({step['list_requests']}{failed}) | {cpu} | {rss or '-'} |"
        )
    m = result["machine"]
    problems = result.get("log_failures", [])
    verdict = (
        "Every step's attempt logs were stored and every sampled log became readable."
        if not problems
        else "Not kept up (the run exited 1): " + "; ".join(problems) + "."
    )
    generated = "\n".join(
        [
            "# End-to-end benchmark",
            "",
            "Events go into the events topic; the router, the webhook sender and a local receiver",
            "(aiohttp, its own process, answering 204) do the rest, and the log writer stores",
            "every attempt's log. Latency runs from the event's `time` to its arrival at the",
            "receiver.",
            "",
            f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, "
            f"Python {m['python']}, Linux {m['kernel']}. Kafka, the store "
            f"({result.get('store', store_description(LOCAL_STORE))}; `mongodb` below) and "
            "every service run on the same machine.",
            "",
            f"Reproduce: `{result['command']}` (run at {result['started_at']}).",
            "",
            *rows,
            "",
            f"Saturation: {result['saturation']}.",
            "",
            f"Memory: {largest_rss(result['steps'])}.",
            "",
            f"Attempt logs: {verdict}",
            "",
            "![latency](bench-latency.png)",
            "![throughput](bench-throughput.png)",
            "![attempt logs](bench-logs.png)",
            "",
            "## How to read it",
            "",
            "Each step offers a fixed rate of `order.paid` events (`max`: as fast as the generator",
            "can emit) for the step's duration, then waits for the deliveries to drain.",
            "",
            "- deliveries/s: distinct deliveries the receiver accepted for the step's events,",
            "  divided by the time from the step's start to its last arrival.",
            "- p50/p95/p99 ms: from the event's `time` to its arrival at the receiver.",
            "- logs stored / attempts: attempts are the distinct attempt log ids the senders wrote",
            "  to the run's logs topic for the step's jobs (read back with a Kafka consumer);",
            "  stored are the documents of the run's `integration_logs` collection for those jobs.",
            "  Both are counted after the drain, waiting up to "
            f"{result.get('log_wait_s', 60):g} s for every job to have an",
            "  attempt and every attempt to be stored.",
            "- log lag: about "
            f"{result.get('lag_samples_per_s', 3):g} jobs a second are sampled while the step "
            "emits; each is polled",
            "  through `GET /v2/integrations/{id}/jobs/{job_id}/logs` every 150 ms until its first",
            "  log appears. Lag = the wall time of that response minus the log's `finished_at`, so",
            "  it includes up to one poll interval and the request's own time. seen/sampled counts",
            "  the samples whose log became readable: each gets the same wait again once the",
            "  step's logs are stored.",
            "- GET /logs: `GET /v2/integrations/logs?page[limit]=25` (the tenant's newest logs), "
            f"about {result.get('list_per_s', 3):g}",
            "  a second, one at a time, during the step's emission and drain; failed requests",
            "  (errors, 10 s timeouts) count at the time they took.",
            "- The log probes use the same API and store as the platform, so their reads are",
            "  part of the measured load (`--lag-samples-per-s 0 --list-per-s 0` turns them off).",
            "- CPU: each process's user+system time over the step (emission and drain), as a",
            "  share of one core; `load-generator` is this bench's process, which also runs the",
            "  log probes (the stored/attempts check comes after); `mongodb` is the store.",
            "- Services' peak RSS: the largest resident set of each of the platform's processes,",
            "  sampled once a second over the step (emission and drain).",
            "- Saturation: the first step that delivered less than 90 % of the offered",
            "  deliveries/s or had a p99 above 15 s (or the unbounded step).",
            "- The run exits 1, after writing these results, when an attempt that was on the",
            "  logs topic at the end of a step's drain (for a step that drained: any attempt of",
            "  its jobs) is not stored after the wait, or a sampled job's log never became",
            "  readable (in a step that did not drain, only a sampled job that was attempted).",
            "",
        ]
    )
    preserved = preserved_sections(existing)
    return generated + ("\n" + "\n\n".join(preserved) + "\n" if preserved else "")


def as_dict(step: StepResult) -> dict[str, Any]:
    """A step as JSON-ready data."""
    return asdict(step)


PRESERVED_HEADINGS = ("## Noisy neighbours", "## Log writer", "## Tracing")


def split_sections(text: str) -> list[str]:
    """`text` cut before every `## ` heading: the preamble first, then one chunk per section."""
    chunks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("## "):
            chunks.append([])
        chunks[-1].append(line)
    return ["\n".join(chunk).strip("\n") for chunk in chunks if any(chunk)]


def preserved_sections(text: str, headings: tuple[str, ...] = PRESERVED_HEADINGS) -> list[str]:
    """The sections of `text` whose heading starts with one of `headings`, in order."""
    return [s for s in split_sections(text) if s.startswith(headings)]


def with_section(text: str, heading: str, section: str) -> str:
    """`text` with the section headed `heading` replaced by `section` (appended if absent)."""
    chunks = split_sections(text)
    replaced = [section.strip("\n") if c.startswith(heading) else c for c in chunks]
    if replaced == chunks and not any(c.startswith(heading) for c in chunks):
        replaced.append(section.strip("\n"))
    return "\n\n".join(replaced) + "\n"
