"""Settings of a sender under test, as the dict its settings class validates."""

from __future__ import annotations

import uuid
from typing import Any

from integrations_common.settings import TopicSettings


def sender_config(
    *,
    kafka: str,
    topics: TopicSettings,
    box_key: str,
    retry_schedule: str = "1s,2s",
    delivery: dict[str, Any] | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """A sender on `kafka` and `topics`, its own consumer group, loopback allowed by the SSRF
    guard, secrets under `box_key`; `delivery` and other `sections` add to or override that."""
    return {
        "kafka": {"bootstrap_servers": kafka},
        "topics": topics.model_dump(),
        "delivery": {
            "retry_schedule": retry_schedule,
            "consumer_group": f"test-sender-{uuid.uuid4().hex[:8]}",
            **(delivery or {}),
        },
        "ssrf": {"allow_cidrs": "127.0.0.0/8"},
        "encryption": {"keys": box_key},
        **sections,
    }
