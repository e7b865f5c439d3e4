"""Draw one event's trace as a waterfall PNG (the picture in docs/architecture.md, "Tracing").

The spans come from the e2e tracing test, which exports them from the running services over
OTLP/HTTP to its collector and, with `INTEGRATIONS_TRACE_DUMP` set, writes them as JSON:

    INTEGRATIONS_TRACE_DUMP=/tmp/trace.json .venv/bin/pytest tests/e2e/test_e2e_tracing.py
    .venv/bin/python -m bench.trace_picture /tmp/trace.json docs/tracing-one-event.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

COLOURS = {
    "integrations-router": "#4c72b0",
    "integrations-webhook-sender": "#dd8452",
    "integrations-queue-sender": "#c44e52",
    "integrations-log-writer": "#55a868",
    "integrations-api": "#8172b3",
}
ERROR = 2  # OTLP Status.STATUS_CODE_ERROR


def _label(span: dict[str, Any]) -> str:
    attributes = span["attributes"]
    name = str(span["name"])
    if name == "attempt":
        number, status = (
            attributes.get("integrations.attempt"),
            attributes.get("integrations.status"),
        )
        name = f"attempt {number}: {status}"
        code = attributes.get("integrations.status_code")
        if code is not None:
            name += f" ({code})"
    elif name == "retry":
        tier = str(attributes.get("messaging.destination.name", "")).rsplit(".", 1)[-1]
        name = f"retry, to the {tier} tier"
    service = str(span["service"]).removeprefix("integrations-")
    return f"{name}  [{service}]"


def draw(spans: list[dict[str, Any]], target: Path) -> None:
    """Render the waterfall of `spans` (one trace), in start order, to `target`."""
    rows = sorted(spans, key=lambda s: s["start_ns"])
    row_of = {span["span_id"]: row for row, span in enumerate(rows)}
    start = rows[0]["start_ns"]
    total_ms = (max(s["end_ns"] for s in spans) - start) / 1e6
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(rows) + 1.4), dpi=110)
    for row, span in enumerate(rows):
        left = (span["start_ns"] - start) / 1e6
        duration = (span["end_ns"] - span["start_ns"]) / 1e6
        width = max(duration, total_ms / 300)
        colour = COLOURS.get(span["service"], "#937860")
        edge = "#b00020" if span["status"] == ERROR else colour
        ax.barh(row, width, left=left, height=0.6, color=colour, edgecolor=edge, linewidth=1.5)
        ax.text(
            left + width + total_ms / 150,
            row,
            f"{_label(span)}  {duration:.1f} ms",
            va="center",
            fontsize=8.5,
        )
        parent = row_of.get(span["parent_span_id"])
        if parent is not None:  # a connector from the parent's row down to this span
            ax.plot([left, left], [parent + 0.3, row - 0.3], color="#888888", linewidth=0.8)
    ax.set_yticks([])
    ax.invert_yaxis()
    ax.set_xlabel("ms since the router started routing the event")
    ax.set_xlim(0, total_ms * 1.3)
    ax.set_title(
        f"One order.paid event, trace {rows[0]['trace_id'][:12]}… (parent: the producer's "
        "traceparent); the receiver answered 500, then 200 after the 1 s tier",
        fontsize=9.5,
    )
    present = [service for service in COLOURS if any(s["service"] == service for s in spans)]
    handles = [Rectangle((0, 0), 1, 1, color=COLOURS[service]) for service in present]
    ax.legend(handles, present, loc="upper right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(target)


def main() -> None:
    """Read the JSON dump, write the PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("spans", type=Path, help="JSON written by the e2e tracing test")
    parser.add_argument("png", type=Path, help="where to write the picture")
    args = parser.parse_args()
    draw(json.loads(args.spans.read_text()), args.png)


if __name__ == "__main__":
    main()
