"""Entry point of the log writer: `integrations-log-writer`."""

from __future__ import annotations

from importlib.metadata import version

from integrations_api.log_writer_settings import LogWriterSettings
from integrations_common.runner import idle_worker, run


def main() -> None:
    """Start the log writer and run until SIGTERM."""
    settings = LogWriterSettings()
    run(
        service="integrations-log-writer",
        version=version("integrations-api"),
        log_level=settings.log_level,
        ops=settings.ops,
        worker=idle_worker,
    )


if __name__ == "__main__":
    main()
