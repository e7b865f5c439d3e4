"""A STOMP client that collects every message arriving on one destination."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import stomp


class StompSubscriber(stomp.ConnectionListener):  # type: ignore[misc]
    """Collects every message that arrives on one destination."""

    def __init__(
        self, *, host: str, port: int, login: str | None, passcode: str | None, destination: str
    ) -> None:
        self.frames: list[Any] = []
        self._arrived = threading.Condition()
        self._conn = stomp.Connection12([(host, port)])
        self._conn.set_listener("subscriber", self)
        self._conn.connect(login, passcode, wait=True)
        self._conn.subscribe(destination, id="1", ack="auto")

    def on_message(self, frame: Any) -> None:
        with self._arrived:
            self.frames.append(frame)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        """Block until `count` messages arrived (or `timeout`); answer all so far."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.frames) >= count, timeout)
            return list(self.frames)

    def close(self) -> None:
        """Disconnect."""
        with contextlib.suppress(Exception):
            self._conn.disconnect()
