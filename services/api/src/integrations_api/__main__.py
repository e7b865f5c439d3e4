"""Entry point: `integrations-api` or `python -m integrations_api`."""

from __future__ import annotations

import logging

import uvicorn

from integrations_api.app import create_app
from integrations_api.settings import ApiSettings
from integrations_common.log_config import configure_logging


def main() -> None:
    """Serve the API until SIGTERM (uvicorn drains in-flight requests, then exits 0)."""
    settings = ApiSettings()
    configure_logging(settings.log_level)
    logging.getLogger(__name__).info("integrations-api is up", extra={"port": settings.port})
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
