"""Entry point: `integrations-router` or `python -m integrations_router`."""

from __future__ import annotations

from importlib.metadata import version

from integrations_common.runner import idle_worker, run
from integrations_router.settings import RouterSettings


def main() -> None:
    """Start the router and run until SIGTERM."""
    settings = RouterSettings()
    run(
        service="integrations-router",
        version=version("integrations-router"),
        log_level=settings.log_level,
        ops=settings.ops,
        worker=idle_worker,
    )


if __name__ == "__main__":
    main()
