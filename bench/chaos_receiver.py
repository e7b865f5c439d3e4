"""The webhook receiver of `make chaos`, in its own process so that 1,000+ deliveries/s do not
share the load generator's event loop.

`python -m bench.chaos_receiver --ready-file F --out D`: writes its port to F when ready. Every
POST is one delivery attempt of the job named by its `webhook-id` header; the receiver answers
204 unless told otherwise, and records `(job id, arrival time)` for each request it answers with
2xx. `GET /count` answers `{"distinct": jobs answered 2xx, "requests": all requests}`;
`POST /control` with `{"fail_ratio": 0.5}` answers 503 to that share of requests, `{"hang_s":
11}` answers every request that many seconds late (0 for neither). On SIGTERM it writes every
recorded arrival as JSON lines `{"job": ..., "t": ...}` to D.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path

from aiohttp import web

from bench.receiver import serve_until_stopped


async def serve(ready_file: Path) -> list[tuple[str, float]]:
    """Serve until SIGTERM; answer the 2xx arrivals."""
    arrivals: list[tuple[str, float]] = []
    distinct: set[str] = set()
    behaviour = {"fail_ratio": 0.0, "hang_s": 0.0}
    requests = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal requests
        await request.read()
        now = time.time()
        requests += 1
        if behaviour["hang_s"]:
            await asyncio.sleep(behaviour["hang_s"])
        if behaviour["fail_ratio"] and random.random() < behaviour["fail_ratio"]:
            return web.Response(status=503)
        job_id = request.headers.get("webhook-id", "")
        arrivals.append((job_id, now))
        distinct.add(job_id)
        return web.Response(status=204)

    async def count(_: web.Request) -> web.Response:
        return web.json_response({"distinct": len(distinct), "requests": requests})

    async def control(request: web.Request) -> web.Response:
        changes = await request.json()
        behaviour.update({k: float(v) for k, v in changes.items() if k in behaviour})
        return web.json_response(behaviour)

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/count", count)
    app.router.add_post("/control", control)
    app.router.add_post("/{tail:.*}", handle)
    await serve_until_stopped(app, ready_file)
    return arrivals


def main() -> None:
    """Parse arguments, serve, then write the arrivals."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    arrivals = asyncio.run(serve(args.ready_file))
    with args.out.open("w") as handle:
        for job_id, arrived in arrivals:
            handle.write(json.dumps({"job": job_id, "t": arrived}) + "\n")


if __name__ == "__main__":
    main()
