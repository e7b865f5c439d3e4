"""The FastAPI application: the `/v2` operations, the ops endpoints, and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from integrations_api.auth.service import TokenVerifier
from integrations_api.console import install_console
from integrations_api.errors import error_response, install_error_handlers
from integrations_api.integrations.service import Context
from integrations_api.integrations.views import router as integrations_router
from integrations_api.jobs.views import router as jobs_router
from integrations_api.logs.store import LogStore
from integrations_api.logs.views import router as logs_router
from integrations_api.middleware import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    StoreDeadlineMiddleware,
    UnexpectedErrorMiddleware,
)
from integrations_api.openapi import build_openapi
from integrations_api.query import reject_unknown_query
from integrations_api.rate_limit import TenantRateLimiter
from integrations_api.replays.sender import JobSender
from integrations_api.replays.views import router as replays_router
from integrations_api.settings import ApiSettings
from integrations_api.state import Services
from integrations_api.tracing import instrument
from integrations_common.kafka import create_producer, ensure_topics
from integrations_common.secret_box import SecretBox
from integrations_common.store.health import HEALTH_COLLECTION, HealthStore
from integrations_common.store.integrations import INTEGRATIONS_COLLECTION, IntegrationStore
from integrations_common.store.mongo import create_client
from integrations_common.store.publisher import ConfigPublisher, run_reconciler
from integrations_common.topic_catalogue import platform_topics

logger = logging.getLogger(__name__)

BASE_PATH = "/v2"
READY_TIMEOUT_S = 2.0
QUERY_CHECK = [Depends(reject_unknown_query)]


async def start_services(settings: ApiSettings) -> Services:
    """Connect to MongoDB and Kafka, create indexes and topics; fail fast when misconfigured."""
    box = SecretBox(settings.encryption)
    verifier = TokenVerifier(settings.auth)
    mongo = create_client(settings.mongodb)
    database = mongo[settings.mongodb.database]
    store = IntegrationStore(database[INTEGRATIONS_COLLECTION])
    logs = LogStore.of(database)
    await store.ensure_indexes()
    await logs.ensure_indexes(None)
    if settings.create_topics:
        await ensure_topics(settings.kafka, platform_topics(settings.topics))
    producer = create_producer(settings.kafka)
    await producer.start()
    publisher = ConfigPublisher(
        producer=producer,
        store=store,
        topics=settings.topics,
        timeout_s=settings.publishing.timeout_s,
    )
    context = Context(
        store=store,
        box=box,
        events_source=settings.publishing.events_source,
        health=HealthStore(database[HEALTH_COLLECTION]),
    )
    return Services(
        settings=settings,
        mongo=mongo,
        producer=producer,
        verifier=verifier,
        integrations=context,
        logs=logs,
        publisher=publisher,
        rate_limiter=TenantRateLimiter(settings.rate_limit),
        job_sender=JobSender(
            producer=producer, topics=settings.topics, timeout_s=settings.publishing.timeout_s
        ),
    )


async def _ready(services: Services) -> bool:
    """MongoDB answers a read of the API's own database, and Kafka its metadata, in time."""
    database = services.mongo[services.settings.mongodb.database]
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await database[INTEGRATIONS_COLLECTION].find_one({"_id": "readiness-probe"})
            await services.producer.client.fetch_all_metadata()
    except Exception:
        return False
    return True


def create_app(settings: ApiSettings) -> FastAPI:
    """Build the application for the given settings."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await start_services(settings)
        app.state.services = services
        reconciler = asyncio.create_task(
            run_reconciler(
                services.publisher,
                interval_s=settings.publishing.reconcile_interval_s,
                republish_all_first=settings.publishing.republish_all_at_startup,
            ),
            name="reconciler",
        )
        try:
            yield
        finally:
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler
            await services.producer.stop()
            await services.mongo.close()

    app = FastAPI(
        title="Integrations API",
        version="2",
        lifespan=lifespan,
        openapi_url=f"{BASE_PATH}/openapi.json",
        docs_url=f"{BASE_PATH}/docs",
        redoc_url=None,
        separate_input_output_schemas=False,
    )
    install_error_handlers(app)
    app.include_router(logs_router, prefix=BASE_PATH, dependencies=QUERY_CHECK)
    app.include_router(jobs_router, prefix=BASE_PATH, dependencies=QUERY_CHECK)
    app.include_router(replays_router, prefix=BASE_PATH, dependencies=QUERY_CHECK)
    app.include_router(integrations_router, prefix=BASE_PATH, dependencies=QUERY_CHECK)
    install_console(app, settings.console)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(
                app, base_path=BASE_PATH, pagination=settings.pagination
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(StoreDeadlineMiddleware, seconds=settings.mongodb.timeout_ms / 1000)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(MetricsMiddleware, prefix=BASE_PATH)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "integrations-api"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        if await _ready(request.app.state.services):
            return JSONResponse({"status": "ready"})
        return error_response(503, "MongoDB or Kafka is not reachable.")

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    instrument(app)
    return app
