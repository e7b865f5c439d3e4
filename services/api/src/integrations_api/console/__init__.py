"""The delivery console: server-rendered pages under `/console`, a thin client of `/v2`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from integrations_api.console.settings import ConsoleSettings

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI, settings: ConsoleSettings | None = None) -> None:
    """Serve the console on `app` (its pages, and its stylesheet under `/console/static`)."""
    from integrations_api.console.routes import router  # noqa: PLC0415  (needs jinja2)

    console = settings or ConsoleSettings()
    app.state.console = console
    if not console.enabled:
        return
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
