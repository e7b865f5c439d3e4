"""Entry point: `integrations-router` or `python -m integrations_router`."""

from __future__ import annotations

import asyncio
from importlib.metadata import version

from integrations_common.log_config import configure_logging
from integrations_router.app import SERVICE, serve
from integrations_router.settings import RouterSettings


def main() -> None:
    """Start the router and run until SIGTERM."""
    settings = RouterSettings()
    configure_logging(settings.log_level)
    asyncio.run(serve(settings=settings, version=version(SERVICE)))


if __name__ == "__main__":
    main()
