"""A fast webhook receiver for benchmarks: answers 204 at once and records arrivals.

Run as its own process so that it does not share a core's event loop with the load generator:
`python -m bench.receiver --port 0 --ready-file F`. It writes its port to F when ready, and on
SIGTERM writes every arrival as JSON lines `{"id", "webhook_id", "attempt", "t"}` to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from pathlib import Path

from aiohttp import web

Arrival = tuple[str, str, int, float]


async def serve(port: int, ready_file: Path, fail_ratio: float) -> list[Arrival]:
    """Serve until SIGTERM; answer every arrival."""
    arrivals: list[Arrival] = []
    counter = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal counter
        body = await request.read()
        now = time.time()
        counter += 1
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
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await asyncio.to_thread(ready_file.write_text, str(bound))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()
    return arrivals


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
    args = parser.parse_args()
    arrivals = asyncio.run(serve(args.port, args.ready_file, args.fail_ratio))
    write_arrivals(arrivals, args.out)


if __name__ == "__main__":
    main()
