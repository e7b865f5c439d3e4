"""Emit one commerce event from the shell, with the producer kit.

    python -m integrations_router.emit --type order.paid --store-id S --org-id O --data order.json

`--data` is a JSON file: a JSON:API document `{"data": {...}, "included": ...}`, or a bare
resource object, which is wrapped as `{"data": <object>}`. Kafka and topic settings come from the
router's `ROUTER_*` environment, so the event goes where the router reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

from integrations_common.cloudevents_codec import InvalidEventError, validate_attributes
from integrations_common.errors import IntegrationsError
from integrations_common.events import CommerceEvent
from integrations_common.jobs import utc_now
from integrations_common.kafka import ensure_topics
from integrations_common.publisher import EventPublisher
from integrations_common.topic_catalogue import platform_topics
from integrations_router.settings import RouterSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Emit one commerce event (CloudEvents 1.0).")
    parser.add_argument("--type", required=True, help="event type, for example order.paid")
    parser.add_argument("--org-id", required=True)
    parser.add_argument("--store-id", default="", help="omit for an org-level event")
    parser.add_argument("--data", default="", help="JSON file with the event's data")
    parser.add_argument("--source", default="/integrations/emit")
    parser.add_argument("--id", default="", help="event id (default: a new UUID)")
    return parser


def _data(path: str) -> dict[str, Any]:
    if not path:
        return {"data": {}}
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise TypeError(f"{path} must hold a JSON object")
    return document if "data" in document else {"data": document}


def build_event(arguments: argparse.Namespace) -> CommerceEvent:
    """The event the arguments describe, validated as the router would."""
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": arguments.id or str(uuid.uuid4()),
        "source": arguments.source,
        "type": arguments.type,
        "time": utc_now().isoformat(),
        "orgid": arguments.org_id,
        "data": _data(arguments.data),
    }
    if arguments.store_id:
        attributes["storeid"] = arguments.store_id
    return validate_attributes(attributes)


async def emit(event: CommerceEvent, settings: RouterSettings) -> None:
    """Publish one event to the events topic and wait for Kafka's acknowledgement.

    Like the router, it first creates the platform's topics that are missing (unless
    `ROUTER_CREATE_TOPICS=false`), since the broker does not create topics on first use.
    """
    if settings.create_topics:
        await ensure_topics(settings.kafka, platform_topics(settings.topics))
    async with EventPublisher(kafka=settings.kafka, topic=settings.topics.events) as publisher:
        await publisher.publish(event)


def main(argv: list[str] | None = None) -> int:
    """Parse, validate, publish; print the event id, or a clear error and exit 1."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        event = build_event(arguments)
        settings = RouterSettings()
        asyncio.run(emit(event, settings))
    except InvalidEventError as exc:
        print(f"invalid event ({exc.reason.value}): {exc.detail}", file=sys.stderr)  # noqa: T201
        return 1
    except (OSError, ValueError, TypeError, IntegrationsError) as exc:
        print(f"cannot emit: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    print(  # noqa: T201
        json.dumps({"emitted": event.id, "type": event.type, "topic": settings.topics.events})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
