"""The HTTP server: uvicorn's httptools protocol with limits it does not have itself.

uvicorn caps neither the size of a request's headers nor the time a client may take to send
them or its body, and its `limit_concurrency` answers in plain text. This protocol adds, per
connection and in the error envelope:

- a request line plus headers over `max_header_bytes` is **431**;
- headers not complete `header_timeout_s` after the connection opened (or after a keep-alive
  request's first byte) are **408** (an idle connection is closed silently);
- a body not complete `body_timeout_s` after the headers is **408**;
- a request on a connection beyond `max_connections` of this process is **503** with
  `Retry-After` (probe and metrics paths excepted);
- a request that is not HTTP at all is **400** (uvicorn answers that in plain text).

Each refusal closes the connection: the answer is written, the write side shut, and whatever
the client still sends is read and dropped for a moment, so it reads the answer rather than a
connection reset.
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
from typing import Any, ClassVar

import httptools
import uvicorn
from prometheus_client import Counter
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from integrations_api.errors import Problem, error_document
from integrations_api.settings import ApiSettings, ServerSettings

logger = logging.getLogger(__name__)

LINGER_S = 2.0
"""How long a refused connection still reads (and drops) what the client sends."""
RETRY_AFTER_S = 5
UNLIMITED_PATHS = frozenset({b"/healthz", b"/readyz", b"/metrics"})

REFUSED = Counter(
    "integrations_api_http_refused_total",
    "Requests or connections the HTTP server refused before the application saw them, by reason.",
    ["reason"],
)


class _RefusedError(Exception):
    """Raised from a parser callback to stop parsing; the refusal is in `_refusal`."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` with header size, header and body timeouts and a connection cap."""

    limits: ClassVar[ServerSettings] = ServerSettings()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True
        self._message_begun = False
        self._head_timer_armed = False
        self._timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str, str] | None = None
        self._refused = False
        self._over_capacity = False

    # Timers

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._head_timer_armed = False

    def _arm_head_timer(self) -> None:
        if not self._head_timer_armed:
            self._arm(self.limits.header_timeout_s, self._head_timed_out)
            self._head_timer_armed = True

    def _head_timed_out(self) -> None:
        self._timer = None
        self._head_timer_armed = False
        if self.transport.is_closing() or self._refused:
            return
        if not self._message_begun:
            REFUSED.labels("idle").inc()
            self.transport.close()
            return
        self._refuse(408, "header_timeout", "The request headers were not received in time.")

    def _body_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._refused:
            return
        cycle = self.cycle
        if cycle is not None and cycle.response_started:
            REFUSED.labels("body_timeout").inc()
            self.transport.close()
            return
        if cycle is not None:
            # The application's answer (to a body it will never get) goes nowhere.
            cycle.disconnected = True
            cycle.message_event.set()
        self._refuse(408, "body_timeout", "The request body was not received in time.")

    # Refusals

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        """Answer `status` in the error envelope, then close the connection."""
        REFUSED.labels(reason).inc()
        logger.debug("request refused", extra={"status": status, "reason": reason})
        self._refused = True
        self._disarm()
        self._unset_keepalive_if_required()
        phrase = http.HTTPStatus(status).phrase
        body = json.dumps(error_document(status, phrase, [Problem(detail)])).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: " + str(len(body)).encode() + b"\r\n")
        if status == 503:
            head.append(b"retry-after: " + str(RETRY_AFTER_S).encode() + b"\r\n")
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._over_capacity = len(self.connections) > self.limits.max_connections
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: read and drop
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "upgrade", "Protocol upgrades are not supported.")
            return
        except httptools.HttpParserError:
            refusal = self._refusal or (400, "malformed", "The request is not valid HTTP/1.1.")
            self._refuse(*refusal)
            return
        if self._in_head and not self._refused:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(431, "header_size", self._too_large_detail())

    def _too_large_detail(self) -> str:
        return f"The request line and headers are larger than {self.limits.max_header_bytes} bytes."

    # httptools callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._message_begun = True
        self._head_bytes = 0
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._message_begun = False
        self._disarm()
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._refusal = (431, "header_size", self._too_large_detail())
            raise _RefusedError
        if self._over_capacity and httptools.parse_url(self.url).path not in UNLIMITED_PATHS:
            self._refusal = (503, "connections", "Too many connections; retry later.")
            raise _RefusedError
        self._arm(self.limits.body_timeout_s, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def protocol_for(limits: ServerSettings) -> type[LimitedHttpToolsProtocol]:
    """The protocol class with `limits` (uvicorn instantiates it per connection)."""

    class ConfiguredProtocol(LimitedHttpToolsProtocol):
        pass

    ConfiguredProtocol.limits = limits
    return ConfiguredProtocol


def server_config(app: Any, settings: ApiSettings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration the API runs with (`integrations-api` and the tests)."""
    values: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": protocol_for(settings.server),
        "log_config": None,
        "access_log": False,
        "timeout_keep_alive": settings.server.keep_alive_timeout_s,
        "timeout_graceful_shutdown": settings.server.graceful_shutdown_timeout_s,
    }
    values.update(overrides)
    return uvicorn.Config(app, **values)
