"""The local store's snapshot before a graceful stop holds every write it acknowledged.

Runs a second local store (infra/mongodb/LocalMongo.java, compiled by `make infra-up`) on a
free port, so the shared one is not frozen.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import bson
import pytest
from pymongo import MongoClient
from pymongo.errors import AutoReconnect

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("INFRA_CACHE_DIR", REPO / ".cache" / "infra")) / "mongodb"


def _snapshot_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mongodb_snapshot", REPO / "infra" / "mongodb_snapshot.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def local_store() -> Iterator[MongoClient[dict[str, Any]]]:
    port = _free_port()
    classpath = f"{CACHE / 'classes'}:{CACHE / 'lib'}/*"
    process = subprocess.Popen(
        ["java", "-Xmx256m", "-cp", classpath, "LocalMongo", str(port), "4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client: MongoClient[dict[str, Any]] = MongoClient(
        f"mongodb://127.0.0.1:{port}", timeoutMS=5_000
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.admin.command("ping")
                break
            except AutoReconnect:
                assert process.poll() is None, "the local store exited"
                assert time.monotonic() < deadline, "the local store did not start"
                time.sleep(0.2)
        yield client
    finally:
        client.close()
        process.kill()
        process.wait()


def test_the_snapshot_holds_every_acknowledged_write_and_later_writes_are_refused(
    local_store: MongoClient[dict[str, Any]], tmp_path: Path
) -> None:
    collection = local_store["app"]["logs"]
    acknowledged: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def write(writer: int) -> None:
        n = 0
        while not stop.is_set():
            key = f"{writer}-{n}"
            try:
                collection.insert_one({"_id": key, "body": "x" * 200})
                acknowledged.append(key)
            except AutoReconnect:
                refused.append(key)
            n += 1

    writers = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for thread in writers:
        thread.start()
    while len(acknowledged) < 500:
        time.sleep(0.01)
    snapshot = tmp_path / "snapshot.bson"
    saved = _snapshot_module().save(local_store, snapshot)
    deadline = time.monotonic() + 5
    while not refused and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for thread in writers:
        thread.join()

    with snapshot.open("rb") as source:
        stored = {r["doc"]["_id"] for r in bson.decode_file_iter(source) if "doc" in r}
    assert saved == len(stored)
    assert refused, "writes after the snapshot went through: the store was not frozen"
    assert set(acknowledged) <= stored
    assert not stored & set(refused)
