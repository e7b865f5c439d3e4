"""Entry point: `integrations-router` or `python -m integrations_router`."""

from __future__ import annotations

import asyncio
import logging
import sys
from importlib.metadata import version

from integrations_common import tracing
from integrations_common.errors import IntegrationsError
from integrations_common.log_config import configure_logging
from integrations_router.app import SERVICE, serve
from integrations_router.settings import RouterSettings


def main() -> None:
    """Start the router and run until SIGTERM; exit 1 with one clear log line if it cannot run."""
    settings = RouterSettings()
    configure_logging(settings.log_level)
    try:
        tracing.configure(SERVICE)
        asyncio.run(serve(settings=settings, version=version(SERVICE)))
    except IntegrationsError as exc:
        logging.getLogger(SERVICE).critical(
            "the router stopped: %s", exc, extra={"error": type(exc).__name__}
        )
        sys.exit(1)
    finally:
        tracing.shutdown()


if __name__ == "__main__":
    main()
