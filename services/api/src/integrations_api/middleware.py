"""ASGI middleware: request metrics by route and status, and the request body size limit."""

from __future__ import annotations

import json
import logging
import time

import pymongo
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from integrations_api.errors import (
    Problem,
    error_document,
    internal_error_response,
    log_unexpected,
)

logger = logging.getLogger("integrations_api.access")

REQUESTS = Counter(
    "integrations_api_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "integrations_api_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ["method", "route", "status"],
)
TOO_LARGE_DETAIL = "The request body is larger than {limit} bytes."


def _route_of(scope: Scope, prefix: str) -> str:
    """The route template that answered (routers included under `prefix` report it without)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "unmatched"
    path = str(scope.get("path", ""))
    if prefix and path.startswith(prefix + "/") and not template.startswith(prefix + "/"):
        return prefix + template
    return template


class HttpMiddleware:
    """An ASGI middleware of HTTP requests; anything else (the lifespan) passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request."""
        raise NotImplementedError


class MetricsMiddleware(HttpMiddleware):
    """Counts requests and measures latency by route template (not raw path)."""

    def __init__(self, app: ASGIApp, *, prefix: str = "") -> None:
        super().__init__(app)
        self.prefix = prefix

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_of(scope, self.prefix)
            method = str(scope.get("method", ""))
            elapsed = time.perf_counter() - started
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route, str(status)).observe(elapsed)
            logger.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )


class UnexpectedErrorMiddleware(HttpMiddleware):
    """Answers 500 in the error envelope for any error nothing else handled, and ends it there.

    Logged by type and frames only. Starlette's own last-resort handler would answer too but
    then re-raise, and the server would log the error with its message, which may quote input.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            log_unexpected(path=str(scope.get("path", "")), exc=exc)
            if not started:
                await internal_error_response()(scope, receive, send)


class BodyLimitMiddleware(HttpMiddleware):
    """Refuses bodies over `limit` bytes with 413 in the error envelope."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        super().__init__(app)
        self.limit = limit

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_document(
                413, "Payload Too Large", [Problem(TOO_LARGE_DETAIL.format(limit=self.limit))]
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.limit + 1
                if declared > self.limit:
                    await self._refuse(send)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise StarletteHTTPException(413, TOO_LARGE_DETAIL.format(limit=self.limit))
            return message

        await self.app(scope, limited_receive, send)


class StoreDeadlineMiddleware(HttpMiddleware):
    """Gives every store operation of one request a shared deadline (PyMongo's `timeout`).

    A store that stops answering then costs a request at most `seconds` before it answers 503
    with `Retry-After`, however many operations the request makes.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        super().__init__(app)
        self.seconds = seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        with pymongo.timeout(self.seconds):
            await self.app(scope, receive, send)
