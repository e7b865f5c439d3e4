"""The load generator: commerce events into the events topic at a set rate, or as fast as it can."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

EVENT_TYPE = "order.paid"


def order_paid_event(*, event_id: str, store_id: str, org_id: str, sent_at: float) -> bytes:
    """A structured-mode CloudEvent for `order.paid`, about 1 KiB, timestamped `sent_at`."""
    order_id = str(uuid.uuid4())
    document = {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:bench",
        "type": EVENT_TYPE,
        "time": datetime.fromtimestamp(sent_at, UTC).isoformat(),
        "orgid": org_id,
        "storeid": store_id,
        "datacontenttype": "application/json",
        "data": {
            "data": {
                "type": "order",
                "id": order_id,
                "status": "complete",
                "payment": "paid",
                "shipping": "unfulfilled",
                "customer": {"name": "Ron Swanson", "email": "ron.swanson@example.com"},
                "meta": {
                    "display_price": {
                        "with_tax": {"amount": 10000, "currency": "GBP", "formatted": "£100.00"}
                    },
                    "timestamps": {"created_at": "2026-11-28T11:12:23Z"},
                },
                "relationships": {"items": {"data": [{"type": "item", "id": order_id}]}},
            },
            "included": {"items": [{"type": "order_item", "id": order_id, "quantity": 1}]},
        },
    }
    return json.dumps(document).encode()


@dataclass
class LoadGenerator:
    """Sends events and remembers when each was sent."""

    producer: AIOKafkaProducer
    topic: str
    store_id: str
    org_id: str
    sent: dict[str, float] = field(default_factory=dict)

    def _next(self) -> tuple[str, bytes]:
        event_id = str(uuid.uuid4())
        now = time.time()
        self.sent[event_id] = now
        value = order_paid_event(
            event_id=event_id, store_id=self.store_id, org_id=self.org_id, sent_at=now
        )
        return event_id, value

    async def emit_one(self) -> str:
        """Send one event and wait for Kafka's acknowledgement."""
        event_id, value = self._next()
        await self.producer.send_and_wait(self.topic, value, key=event_id.encode())
        return event_id

    async def run(self, *, rate: float | None, duration: float) -> int:
        """Emit at `rate` events/s (None: as fast as acknowledgements allow) for `duration` s."""
        start = time.monotonic()
        emitted = 0
        pending: list[asyncio.Future[object]] = []
        tick = 0.01
        while (elapsed := time.monotonic() - start) < duration:
            due = int(elapsed * rate) + 1 if rate else emitted + 200
            while emitted < due:
                event_id = str(uuid.uuid4())
                now = time.time()
                value = order_paid_event(
                    event_id=event_id, store_id=self.store_id, org_id=self.org_id, sent_at=now
                )
                pending.append(await self.producer.send(self.topic, value, key=event_id.encode()))
                self.sent[event_id] = now
                emitted += 1
            if rate:
                await asyncio.sleep(tick)
            else:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return emitted
