"""The service runner's stop: a second stop signal during a stuck stop logs where every task
waits and exits at once (a real process, real signals)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration

STUCK_SERVICE = """
import asyncio
from integrations_common.runner import run
from integrations_common.settings import OpsServerSettings

async def worker(stop):
    await stop.wait()
    print("stopping", flush=True)
    await asyncio.Event().wait()  # a stop that never finishes

run(service="stuck", version="0", log_level="INFO", ops=OpsServerSettings(port=0), worker=worker)
"""


def _wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if text in line:
            return
    raise AssertionError(f"{text!r} never printed")


def test_a_second_stop_signal_dumps_the_tasks_and_exits() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK_SERVICE],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_line(process, "stuck is up")
        process.send_signal(signal.SIGTERM)
        _wait_for_line(process, "stopping")
        assert process.poll() is None  # the first signal asks; the stop is stuck
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 1
    output = process.stdout.read() if process.stdout else ""
    assert "a second stop signal while stopping" in output
    assert "worker" in output  # the stuck coroutine's frame is in the dump
