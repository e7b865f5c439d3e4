"""One open STOMP connection of one integration, bridging stomp.py's threads and asyncio.

stomp.py is synchronous: `open`, `send_all` and `close` block and run in the transport's
bounded thread pools. Frames from the broker arrive on stomp.py's receiver thread, which only
hands them to the event loop (`call_soon_threadsafe`); every receipt is an asyncio future.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
import uuid
from typing import Any

import stomp
from stomp.exception import StompException

from integrations_common.address_policy import AddressPolicy
from integrations_queue_sender.address_guard import checked_addresses
from integrations_queue_sender.errors import (
    DestinationRejectedError,
    DestinationUnavailableError,
    QueueSenderError,
)
from integrations_queue_sender.settings import StompSettings
from integrations_queue_sender.stomp_destination import StompAddress, StompDestination

_CLOSE_WAIT_S = 1.0
_MAX_ERROR_TEXT = 300

Frame = tuple[bytes, dict[str, str]]


def _error_text(frame: Any) -> str:
    headers = getattr(frame, "headers", {}) or {}
    text = str(headers.get("message", "")).strip()
    if not text:
        body = getattr(frame, "body", "") or ""
        if isinstance(body, bytes):
            body = body.decode("utf-8", errors="replace")
        lines = str(body).strip().splitlines()
        text = lines[0] if lines else ""
    return text[:_MAX_ERROR_TEXT] or "no reason given"


class StompLink:
    """A connection and the receipts it waits for."""

    def __init__(
        self,
        destination: StompDestination,
        *,
        settings: StompSettings,
        loop: asyncio.AbstractEventLoop,
        policy: AddressPolicy,
    ) -> None:
        self.destination = destination
        self._policy = policy
        self.alive = False
        self.last_used = time.monotonic()
        self._settings = settings
        self._loop = loop
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._ids = itertools.count()
        self._prefix = uuid.uuid4().hex[:12]
        self._settled = threading.Event()
        self._closed = threading.Event()
        self._connected = False
        self._refusal: str | None = None
        self._conn: Any = None
        self.address: StompAddress | None = None

    @property
    def broker(self) -> str:
        """The address in use (or the whole failover list before connecting)."""
        if self.address is not None:
            return str(self.address)
        return ", ".join(str(a) for a in self.destination.addresses)

    # Blocking: run these in a thread pool.

    def open(self) -> None:
        """Connect to the first address that answers and log in; raise a `QueueSenderError`."""
        destination, settings = self.destination, self._settings
        heartbeat = settings.heartbeat_ms
        targets = self._checked_targets()
        conn = stomp.Connection12(
            host_and_ports=list(targets),
            prefer_localhost=False,
            try_loopback_connect=False,
            reconnect_attempts_max=1,
            reconnect_sleep_initial=0.0,
            timeout=settings.connect_timeout_s,
            heartbeats=(heartbeat, heartbeat),
            keepalive=True,
        )
        tls_hosts = [(a.host, a.port) for a in destination.addresses if a.tls]
        if tls_hosts:
            ca_file = str(settings.tls_ca_file) if settings.tls_ca_file else None
            conn.set_ssl(for_hosts=tls_hosts, ca_certs=ca_file)
        conn.set_listener("link", _Listener(self))
        self._conn = conn
        try:
            conn.connect(username=destination.login, passcode=destination.passcode, wait=False)
        except (StompException, OSError) as exc:
            # ConnectFailedException, or NotConnectedException when the peer closed the socket
            # between the TCP connect and the CONNECT frame
            self._abandon()
            raise DestinationUnavailableError(
                f"could not connect to any STOMP address ({self.broker})"
            ) from exc
        self.address = targets.get(tuple(conn.transport.current_host_and_port))
        if not self._settled.wait(settings.connect_timeout_s):
            self._abandon()
            raise DestinationUnavailableError(
                f"the STOMP broker at {self.broker} did not answer CONNECT within "
                f"{settings.connect_timeout_s:g}s"
            )
        if self._refusal is not None:
            self._abandon()
            raise DestinationRejectedError(
                f"the STOMP broker at {self.broker} refused the connection: {self._refusal}"
            )
        if not self._connected:
            self._abandon()
            raise DestinationUnavailableError(
                f"the STOMP broker at {self.broker} closed the connection during CONNECT"
            )
        self.alive = True

    def _checked_targets(self) -> dict[tuple[str, int], StompAddress]:
        """Where to connect, every address checked by the SSRF guard first: a plain address
        connects to the checked IP (no second lookup can swap it); a TLS one by name, so the
        broker's certificate is verified against it."""
        targets: dict[tuple[str, int], StompAddress] = {}
        for address in self.destination.addresses:
            checked = checked_addresses(address.host, address.port, policy=self._policy)
            host = address.host if address.tls else str(checked[0])
            targets[(host, address.port)] = address
        return targets

    def send_all(self, destination: str, frames: list[Frame]) -> tuple[int, str | None]:
        """Send frames in order; answer how many went out and, if one failed, why."""
        for sent, (body, headers) in enumerate(frames):
            try:
                self._conn.send(destination=destination, body=body, headers=headers)
            except Exception as exc:  # the socket is gone: the link is dead
                self._lost(f"sending failed: {type(exc).__name__}")
                return sent, type(exc).__name__
        return len(frames), None

    def close(self) -> None:
        """Say goodbye if possible, then close the socket."""
        self.alive = False
        conn = self._conn
        if conn is None:
            return
        with contextlib.suppress(Exception):
            if conn.is_connected():
                conn.disconnect()
                self._closed.wait(_CLOSE_WAIT_S)
        self._abandon()

    def _abandon(self) -> None:
        self.alive = False
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.transport.disconnect_socket()

    # Event loop side.

    def expect(self) -> tuple[str, asyncio.Future[None]]:
        """A new receipt id and the future its RECEIPT frame resolves."""
        receipt = f"{self._prefix}-{next(self._ids)}"
        future: asyncio.Future[None] = self._loop.create_future()
        self._pending[receipt] = future
        return receipt, future

    def forget(self, receipt: str) -> None:
        """Stop waiting for `receipt`."""
        self._pending.pop(receipt, None)

    def _settle(self, receipt: str, error: QueueSenderError | None) -> None:
        future = self._pending.pop(receipt, None)
        if future is None or future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    def _fail_all(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(
                    DestinationUnavailableError(
                        f"the connection to the STOMP broker at {self.broker} was lost "
                        f"before the receipt arrived ({reason})"
                    )
                )

    # Receiver thread side.

    def _call(self, callback: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self._loop.call_soon_threadsafe(callback, *args)

    def _lost(self, reason: str) -> None:
        self.alive = False
        self._call(self._fail_all, reason)

    def _on_connected(self) -> None:
        self._connected = True
        self._settled.set()

    def _on_error(self, frame: Any) -> None:
        text = _error_text(frame)
        receipt = (getattr(frame, "headers", {}) or {}).get("receipt-id")
        if not self._connected:
            self._refusal = text
            self._settled.set()
        elif receipt:
            error = DestinationRejectedError(f"the STOMP broker rejected the message: {text}")
            self._call(self._settle, receipt, error)
        else:
            self._lost(f"the broker sent ERROR: {text}")

    def _on_receipt(self, frame: Any) -> None:
        receipt = (getattr(frame, "headers", {}) or {}).get("receipt-id")
        if receipt:
            self._call(self._settle, receipt, None)

    def _on_disconnected(self) -> None:
        self._settled.set()
        self._closed.set()
        self._lost("the broker closed the connection")

    def _on_heartbeat_timeout(self) -> None:
        self._lost("heartbeats from the broker stopped")


class _Listener(stomp.ConnectionListener):  # type: ignore[misc]
    """Forwards stomp.py's callbacks to the link."""

    def __init__(self, link: StompLink) -> None:
        self._link = link

    def on_connected(self, frame: Any) -> None:
        self._link._on_connected()

    def on_error(self, frame: Any) -> None:
        self._link._on_error(frame)

    def on_receipt(self, frame: Any) -> None:
        self._link._on_receipt(frame)

    def on_disconnected(self) -> None:
        self._link._on_disconnected()

    def on_heartbeat_timeout(self) -> None:
        self._link._on_heartbeat_timeout()
