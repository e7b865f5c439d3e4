"""`integrations-create-topics`: create every platform topic that does not exist yet, then exit.

The Helm chart's pre-install/pre-upgrade Job runs it with the API's settings (`API_KAFKA__*`,
`API_TOPICS__*`). It never changes a topic that exists. Retry tiers are created by the senders,
which own their schedules.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from integrations_api.settings import ApiSettings
from integrations_common.errors import IntegrationsError
from integrations_common.kafka import ensure_topics
from integrations_common.log_config import configure_logging
from integrations_common.topic_catalogue import platform_topics

logger = logging.getLogger(__name__)


def main() -> None:
    """Create the missing topics; exit 1 (with the reason logged) if Kafka refuses."""
    settings = ApiSettings()
    configure_logging(settings.log_level)
    specs = platform_topics(settings.topics)
    try:
        created = asyncio.run(ensure_topics(settings.kafka, specs))
    except IntegrationsError:
        logger.exception("cannot create the topics")
        sys.exit(1)
    logger.info(
        "topics checked",
        extra={"topics_created": created, "topics_total": len(specs)},
    )


if __name__ == "__main__":
    main()
