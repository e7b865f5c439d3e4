"""A fast webhook receiver for benchmarks: answers 204 at once and records arrivals.

Run as its own process so that it does not share a core's event loop with the load generator:
`python -m bench.receiver --port 0 --ready-file F`. It writes its port to F when ready, and on
SIGTERM writes every arrival as JSON lines `{"id", "webhook_id", "attempt", "t"}` to `--out`.
`--delay 15` answers each request after 15 s (`--delay 5-9`: a uniform 5 to 9 s), `--status 500`
answers that status instead of 204: the bad receivers of `make bench-noisy`. `--ports N` listens
on N ports (written comma-separated), so that N integrations are N hosts to the sender.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import time
from pathlib import Path

from aiohttp import web

Arrival = tuple[str, str, int, float]


def parse_delay(text: str) -> tuple[float, float]:
    """`15` -> (15, 15); `5-9` -> (5, 9)."""
    low, _, high = text.partition("-")
    return float(low), float(high or low)


async def serve(
    port: int,
    ready_file: Path,
    fail_ratio: float,
    *,
    delay: tuple[float, float] = (0.0, 0.0),
    status: int = 204,
    ports: int = 1,
) -> list[Arrival]:
    """Serve until SIGTERM; answer every arrival."""
    arrivals: list[Arrival] = []
    counter = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal counter
        body = await request.read()
        now = time.time()
        counter += 1
        if delay[1] > 0:
            await asyncio.sleep(random.uniform(*delay))
        if status != 204:
            return web.Response(status=status)
        if fail_ratio and (counter * 7919 % 1000) < fail_ratio * 1000:
            return web.Response(status=503)
        document = json.loads(body)
        arrivals.append(
            (document["id"], request.headers.get("webhook-id", ""), document["attempt"], now)
        )
        return web.Response(status=204)

    async def count(_: web.Request) -> web.Response:
        return web.json_response({"arrivals": len(arrivals), "requests": counter})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/count", count)
    app.router.add_post("/{tail:.*}", handle)
    await serve_until_stopped(app, ready_file, ports=ports, port=port)
    return arrivals


async def serve_until_stopped(
    app: web.Application, ready_file: Path, *, ports: int = 1, port: int = 0
) -> None:
    """Serve `app` on `ports` listeners of 127.0.0.1 (`port`, or free ones), write their ports
    (comma-separated) to `ready_file`, and return after SIGTERM or SIGINT."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    bound = []
    for _ in range(ports):
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
        await site.start()
        bound.append(str(site._server.sockets[0].getsockname()[1]))  # type: ignore[union-attr]
    await asyncio.to_thread(ready_file.write_text, ",".join(bound))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()


def write_arrivals(arrivals: list[Arrival], out: Path) -> None:
    """Write arrivals as JSON lines."""
    with out.open("w") as handle:
        for event_id, webhook_id, attempt, arrived in arrivals:
            record = {"id": event_id, "webhook_id": webhook_id, "attempt": attempt, "t": arrived}
            handle.write(json.dumps(record) + "\n")


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fail-ratio", type=float, default=0.0)
    parser.add_argument("--delay", default="0", help="seconds before answering: 15 or 5-9")
    parser.add_argument("--status", type=int, default=204, help="the status to answer")
    parser.add_argument(
        "--ports", type=int, default=1, help="listen on this many ports (--port 0); all listed"
    )
    args = parser.parse_args()
    arrivals = asyncio.run(
        serve(
            args.port,
            args.ready_file,
            args.fail_ratio,
            delay=parse_delay(args.delay),
            status=args.status,
            ports=args.ports,
        )
    )
    write_arrivals(arrivals, args.out)


if __name__ == "__main__":
    main()
