"""The process-wide objects the request handlers use, held on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import Request
from pymongo import AsyncMongoClient

from integrations_api.auth.service import TokenVerifier
from integrations_api.integrations.service import Context
from integrations_api.logs.store import LogStore
from integrations_api.rate_limit import TenantRateLimiter
from integrations_api.replays.sender import JobSender
from integrations_api.settings import ApiSettings
from integrations_common.store.publisher import ConfigPublisher


@dataclass
class Services:
    """Everything a request may need; built by the app's lifespan."""

    settings: ApiSettings
    mongo: AsyncMongoClient[dict[str, Any]]
    producer: AIOKafkaProducer
    verifier: TokenVerifier
    integrations: Context
    logs: LogStore
    publisher: ConfigPublisher
    rate_limiter: TenantRateLimiter
    job_sender: JobSender


def services_of(request: Request) -> Services:
    """The services of the app serving `request`."""
    services: Services = request.app.state.services
    return services
