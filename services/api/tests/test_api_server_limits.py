"""Issue 13, item 5: the HTTP server caps header size, times out slow clients, caps connections.

The API is served by uvicorn with the configuration `integrations-api` runs with
(`server_config`), on an ephemeral port; the tests talk to it over raw sockets, as an attacker
would. Every refusal is in the error envelope.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from integrations_api.settings import ServerSettings

from .conftest import ServedApi, token

pytestmark = pytest.mark.integration

SOCKET_TIMEOUT_S = 30.0
"""Far longer than any limit under test: reaching it means the server never answered."""
HEADER_LIMIT = 4096


@pytest.fixture(scope="module")
def strict_api(kafka_bootstrap_servers: str, mongodb_uri: str) -> Iterator[ServedApi]:
    limits = ServerSettings(max_header_bytes=HEADER_LIMIT, header_timeout_s=1, body_timeout_s=1)
    with ServedApi(kafka=kafka_bootstrap_servers, mongodb=mongodb_uri, server=limits) as api:
        yield api


@pytest.fixture(scope="module")
def capped_api(kafka_bootstrap_servers: str, mongodb_uri: str) -> Iterator[ServedApi]:
    limits = ServerSettings(max_connections=3, keep_alive_timeout_s=120, header_timeout_s=120)
    with ServedApi(kafka=kafka_bootstrap_servers, mongodb=mongodb_uri, server=limits) as api:
        yield api


def _connect(api: ServedApi) -> socket.socket:
    parts = urlsplit(api.base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT_S)
    sock.settimeout(SOCKET_TIMEOUT_S)
    return sock


def _send_all(sock: socket.socket, data: bytes) -> None:
    """Send what the server still reads (it may stop reading once it has answered)."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    """One response: status, headers (lower-case names), and the body parsed as JSON."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed without an answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split(" ")[1]), headers, json.loads(body[:length])


def _assert_envelope(answer: tuple[int, dict[str, str], Any], status: int, title: str) -> None:
    code, headers, body = answer
    assert code == status, body
    assert headers["content-type"] == "application/json"
    assert body["errors"][0]["status"] == status
    assert body["errors"][0]["title"] == title
    assert set(body["errors"][0]) == {"status", "title", "detail"}


def _closed(sock: socket.socket) -> bool:
    """True when the server has closed the connection (EOF or reset)."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    return True


def test_oversized_headers_are_431(strict_api: ServedApi) -> None:
    # 8 MiB of one header, streamed: refused once the head passes the limit.
    with _connect(strict_api) as sock:
        _send_all(sock, b"GET /v2/integrations HTTP/1.1\r\nHost: api\r\nX-Big: ")
        for _ in range(128):
            _send_all(sock, b"a" * 65536)
        _send_all(sock, b"\r\n\r\n")
        answer = _read_response(sock)
        _assert_envelope(answer, 431, "Request Header Fields Too Large")
        assert answer[1]["connection"] == "close"
        assert _closed(sock)
    # A head just over the limit, in one piece.
    with _connect(strict_api) as sock:
        padding = b"b" * HEADER_LIMIT
        _send_all(
            sock, b"GET /v2/integrations HTTP/1.1\r\nHost: api\r\nX-Pad: " + padding + b"\r\n\r\n"
        )
        _assert_envelope(_read_response(sock), 431, "Request Header Fields Too Large")
    # Under the limit the application answers (401: no token).
    with _connect(strict_api) as sock:
        padding = b"c" * (HEADER_LIMIT - 200)
        _send_all(
            sock, b"GET /v2/integrations HTTP/1.1\r\nHost: api\r\nX-Pad: " + padding + b"\r\n\r\n"
        )
        _assert_envelope(_read_response(sock), 401, "Unauthorized")


def test_headers_sent_a_byte_at_a_time_time_out_with_408(strict_api: ServedApi) -> None:
    """A slowloris client: it keeps sending, but its headers never end."""
    with _connect(strict_api) as sock:
        _send_all(sock, b"GET /v2/integrations HTTP/1.1\r\nHost: api\r\nX-Slow: ")
        deadline = time.monotonic() + SOCKET_TIMEOUT_S
        answered = False
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                answered = True
                break
            _send_all(sock, b"a")
        assert answered, "the server let a slow client hold the connection"
        answer = _read_response(sock)
        _assert_envelope(answer, 408, "Request Timeout")
        assert _closed(sock)


def test_an_idle_connection_is_closed(strict_api: ServedApi) -> None:
    with _connect(strict_api) as sock:
        assert sock.recv(65536) == b""


def test_a_slow_body_times_out_with_408(strict_api: ServedApi) -> None:
    with _connect(strict_api) as sock:
        head = (
            "POST /v2/integrations HTTP/1.1\r\nHost: api\r\n"
            f"Authorization: Bearer {token(store_id='store-slow-body')}\r\n"
            "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
        )
        _send_all(sock, head.encode() + b'{"data": ')
        _assert_envelope(_read_response(sock), 408, "Request Timeout")
        assert _closed(sock)


def test_a_request_that_is_not_http_is_400_in_the_envelope(strict_api: ServedApi) -> None:
    with _connect(strict_api) as sock:
        _send_all(sock, b"HELLO\x00 THERE\r\n\r\n")
        _assert_envelope(_read_response(sock), 400, "Bad Request")


def test_keep_alive_requests_still_work(strict_api: ServedApi) -> None:
    """Limits apply per request: a connection serves several, each within its own limits."""
    with _connect(strict_api) as sock:
        for _ in range(3):
            _send_all(sock, b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n")
            status, _, body = _read_response(sock)
            assert (status, body["status"]) == (200, "ok")


def _get(sock: socket.socket, path: str) -> tuple[int, dict[str, str], Any]:
    _send_all(sock, f"GET {path} HTTP/1.1\r\nHost: api\r\n\r\n".encode())
    return _read_response(sock)


def test_connections_over_the_cap_get_503_with_retry_after(capped_api: ServedApi) -> None:
    held = [_connect(capped_api) for _ in range(3)]
    try:
        for sock in held:  # each is accepted and served, then stays open (keep-alive)
            assert _get(sock, "/healthz")[0] == 200
        with _connect(capped_api) as extra:
            answer = _get(extra, "/v2/integrations")
            _assert_envelope(answer, 503, "Service Unavailable")
            assert answer[1]["retry-after"] == "5"
            assert _closed(extra)
        with _connect(capped_api) as probe:  # probes still see the process
            assert _get(probe, "/healthz")[0] == 200
        held.pop().close()
        statuses = []
        for _ in range(100):  # until the server has seen the close
            with _connect(capped_api) as again:
                statuses.append(_get(again, "/v2/integrations")[0])
            if statuses[-1] != 503:
                break
            time.sleep(0.1)
        assert statuses[-1] == 401
    finally:
        for sock in held:
            sock.close()
