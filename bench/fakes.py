"""Bad destinations for `make bench-noisy`, each its own process (benchmark use only).

- `python -m bench.fakes sqs --upstream URL --hang NAME --ready-file F`: an SQS endpoint that
  forwards every request to `URL` (ElasticMQ), except requests for a queue whose URL contains
  `NAME`, which it accepts and never answers (a hanging SQS endpoint).
- `python -m bench.fakes stomp --ready-file F`: a STOMP broker that accepts connections, answers
  CONNECT with CONNECTED, takes every SEND and never sends a RECEIPT.

Each writes its port to `--ready-file` when it listens, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path

import aiohttp
from aiohttp import web

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()


async def sqs(upstream: str, hang: str, ready_file: Path) -> None:
    """Forward to `upstream`; hang requests that name a queue containing `hang`."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    hung = 0

    async def handle(request: web.Request) -> web.StreamResponse:
        nonlocal hung
        body = await request.read()
        if hang.encode() in body:
            hung += 1
            await asyncio.sleep(3600)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with session.request(
            request.method, upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
            return web.Response(status=answer.status, body=payload, headers=out)

    async def count(_: web.Request) -> web.Response:
        return web.json_response({"hung": hung})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/__hung", count)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await asyncio.to_thread(ready_file.write_text, str(runner.addresses[0][1]))
    try:
        await _until_stopped()
    finally:
        await runner.cleanup()
        await session.close()


async def stomp(ready_file: Path) -> None:
    """Answer CONNECT, swallow everything else, never send a RECEIPT."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                frame = await reader.readuntil(b"\x00")
                command = frame.lstrip(b"\r\n").split(b"\n", 1)[0].strip()
                if command in (b"CONNECT", b"STOMP"):
                    writer.write(b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\x00")
                    await writer.drain()
                elif command == b"DISCONNECT":
                    break
        writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    await asyncio.to_thread(ready_file.write_text, str(server.sockets[0].getsockname()[1]))
    async with server:
        await _until_stopped()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("sqs", "stomp"))
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--upstream", default="http://127.0.0.1:9324")
    parser.add_argument("--hang", default="hang")
    args = parser.parse_args()
    if args.kind == "sqs":
        asyncio.run(sqs(args.upstream.rstrip("/"), args.hang, args.ready_file))
    else:
        asyncio.run(stomp(args.ready_file))


if __name__ == "__main__":
    main()
