"""Where a store worker under test (the log writer) reads and writes: topics of its own (the
logs topic created) and a database no other test uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations_common.settings import KafkaSettings, MongoSettings, TopicSettings
from integrations_testkit.kafka_tools import unique


@dataclass(frozen=True)
class Place:
    """Kafka settings, the topics and the database of one test."""

    kafka: KafkaSettings
    topics: TopicSettings
    mongodb: MongoSettings

    def config(self, group: str, **overrides: Any) -> dict[str, Any]:
        """A worker's settings here, in a consumer group of its own (as its settings class's
        keyword arguments)."""
        return {
            "kafka": self.kafka,
            "topics": self.topics,
            "create_topics": False,
            "mongodb": self.mongodb,
            "group_id": unique(group),
            **overrides,
        }
