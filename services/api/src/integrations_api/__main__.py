"""Entry point: `integrations-api` or `python -m integrations_api`."""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from integrations_api.app import create_app
from integrations_api.server import server_config
from integrations_api.settings import ApiSettings
from integrations_common import tracing
from integrations_common.log_config import configure_logging


class GracefulServer(uvicorn.Server):
    """Drains in-flight requests on SIGTERM/SIGINT, then exits 0 (uvicorn re-raises by default)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Turn stop signals into a graceful exit without re-raising them afterwards."""
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def main() -> None:
    """Serve the API until SIGTERM."""
    settings = ApiSettings()
    configure_logging(settings.log_level)
    tracing.configure("integrations-api")
    logging.getLogger(__name__).info("integrations-api is up", extra={"port": settings.port})
    try:
        GracefulServer(server_config(create_app(settings), settings)).run()
    finally:
        tracing.shutdown()


if __name__ == "__main__":
    main()
