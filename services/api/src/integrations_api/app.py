"""The FastAPI application: for now the operational endpoints only."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from integrations_api.errors import install_error_handlers
from integrations_api.settings import ApiSettings


def create_app(settings: ApiSettings) -> FastAPI:
    """Build the application for the given settings."""
    app = FastAPI(title="Integrations API", version="2", docs_url=None, redoc_url=None)
    app.state.settings = settings
    install_error_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "integrations-api"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
