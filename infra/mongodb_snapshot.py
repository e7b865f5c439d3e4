"""Save and load the local store's data, so that it survives a graceful stop.

The local store keeps its data in memory (see infra/mongodb/LocalMongo.java). `save` writes every
database's collections, documents and index definitions to one BSON file (atomically, through a
temporary file) before the store stops, after freezing its writes (they are refused, and retried
by their clients, until the restart: `save` is for a stop only); `load` puts them back after it
starts. Services that
reconnect meanwhile may already have created their collections or written documents: a document
whose id is there already is left as the client wrote it, which is the newer version.
Run with the project's Python: `python infra/mongodb_snapshot.py save|load <mongodb uri> <file>`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
from pymongo import IndexModel, MongoClient
from pymongo.errors import BulkWriteError, OperationFailure

DUPLICATE_KEY = 11000
NAMESPACE_EXISTS = 48
COMMAND_NOT_FOUND = 59
SYSTEM_DATABASES = {"admin", "config", "local"}
CHUNK = 5_000
TIMEOUT_MS = 120_000


def _records(client: MongoClient[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for db_name in client.list_database_names():
        if db_name in SYSTEM_DATABASES:
            continue
        database = client[db_name]
        for coll_name in database.list_collection_names():
            collection = database[coll_name]
            indexes = [i for i in collection.list_indexes() if i["name"] != "_id_"]
            yield {"db": db_name, "coll": coll_name, "indexes": indexes}
            for document in collection.find({}):
                yield {"db": db_name, "coll": coll_name, "doc": document}


def save(client: MongoClient[dict[str, Any]], path: Path) -> int:
    """Freeze the store's writes (it is about to stop), then write every user database to
    `path`; answers how many documents. Writes refused from then on are retried by their clients
    once the store is back, so no acknowledged write is left out of the snapshot."""
    try:
        client.admin.command("localFreeze")
    except OperationFailure as exc:  # a store started before the command existed
        if exc.code != COMMAND_NOT_FOUND:
            raise
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    count = 0
    with temporary.open("wb") as out:
        for record in _records(client):
            count += "doc" in record
            out.write(bson.encode(record))
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)
    return count


def _index_model(spec: dict[str, Any]) -> IndexModel:
    options = {k: v for k, v in spec.items() if k not in ("key", "v", "ns")}
    return IndexModel(list(spec["key"].items()), **options)


def load(client: MongoClient[dict[str, Any]], path: Path) -> int:
    """Load `path` into the store, keeping documents written since the start; answers how many."""
    if not path.exists():
        return 0
    loaded = 0
    pending: list[dict[str, Any]] = []
    target: tuple[str, str] | None = None

    def flush() -> int:
        if not pending or target is None:
            return 0
        try:
            inserted = len(
                client[target[0]][target[1]].insert_many(pending, ordered=False).inserted_ids
            )
        except BulkWriteError as exc:
            # A client wrote the same documents since the start: its version is newer.
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != DUPLICATE_KEY for error in errors):
                raise
            inserted = int(exc.details.get("nInserted", 0))
        pending.clear()
        return inserted

    with path.open("rb") as source:
        for record in bson.decode_file_iter(source):
            where = (record["db"], record["coll"])
            if where != target:
                loaded += flush()
                target = where
            if "indexes" in record:
                _restore_collection(client, where, record["indexes"])
                continue
            pending.append(record["doc"])
            if len(pending) >= CHUNK:
                loaded += flush()
    return loaded + flush()


def _restore_collection(
    client: MongoClient[dict[str, Any]], where: tuple[str, str], indexes: list[dict[str, Any]]
) -> None:
    """Create the collection (it may exist already) and its indexes."""
    database = client[where[0]]
    try:
        database.create_collection(where[1], check_exists=False)
    except OperationFailure as exc:
        if exc.code != NAMESPACE_EXISTS:
            raise
    models = [_index_model(spec) for spec in indexes]
    if models:
        database[where[1]].create_indexes(models)


def main() -> None:
    """`save|load <uri> <file>`."""
    action, uri, file = sys.argv[1:4]
    client: MongoClient[dict[str, Any]] = MongoClient(uri, timeoutMS=TIMEOUT_MS)
    try:
        count = (save if action == "save" else load)(client, Path(file))
    finally:
        client.close()
    done = {"save": "saved", "load": "loaded"}[action]
    sys.stdout.write(f"mongodb: {done} {count} documents ({file})\n")


if __name__ == "__main__":
    main()
