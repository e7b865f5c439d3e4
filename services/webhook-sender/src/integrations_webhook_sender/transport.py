"""The webhook transport: one pooled aiohttp session, concurrent POSTs, spec-worded outcomes.

aiohttp is used directly behind the `DeliveryTransport` protocol: measured against httpx's default
transport and the httpx-aiohttp transport it was the fastest (see docs/webhooks.md), and its
resolver hook lets the SSRF guard hand the connector exactly the addresses it checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver
from yarl import URL

from integrations_common.delivery import DeliveryOutcome, failed, may_start, not_started
from integrations_common.errors import IntegrationsError
from integrations_common.jobs import DeliveryJob, utc_now
from integrations_common.secret_box import SecretBox, UndecryptableSecretError, redact
from integrations_common.tracing import TRACEPARENT, traceparent_for
from integrations_webhook_sender.errors import (
    BlockedAddressError,
    InvalidDestinationError,
    ReceiverFailedError,
    ReceiverGoneError,
)
from integrations_webhook_sender.request import encode_webhook_body, webhook_headers
from integrations_webhook_sender.settings import HttpSettings
from integrations_webhook_sender.ssrf import AddressPolicy, GuardedResolver

logger = logging.getLogger(__name__)

FAIL = "treating webhook as a fail"
OUTSIDE_2XX = f"Received a status code outside of 2xx range - {FAIL}"
RETRY_AFTER_STATUSES = frozenset({429, 503})
_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class _Request:
    url: URL
    body: bytes
    headers: dict[str, str]
    secret: str | None = None


class _HostLimits:
    """One semaphore per host:port, dropped again when nobody uses it."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[tuple[str, int], tuple[asyncio.Semaphore, int]] = {}

    async def acquire(self, key: tuple[str, int]) -> None:
        slot = self._slots.get(key)
        semaphore, users = slot if slot is not None else (asyncio.Semaphore(self._limit), 0)
        self._slots[key] = (semaphore, users + 1)
        try:
            await semaphore.acquire()
        except BaseException:
            self._leave(key)
            raise

    def release(self, key: tuple[str, int]) -> None:
        self._slots[key][0].release()
        self._leave(key)

    def _leave(self, key: tuple[str, int]) -> None:
        semaphore, users = self._slots[key]
        if users <= 1:
            del self._slots[key]
        else:
            self._slots[key] = (semaphore, users - 1)


class WebhookTransport:
    """Delivers webhook jobs; never raises for a failed delivery."""

    def __init__(
        self,
        *,
        http: HttpSettings,
        policy: AddressPolicy,
        secrets: SecretBox | None,
        resolver: AbstractResolver | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._http = http
        self._policy = policy
        self._secrets = secrets
        self._resolver = resolver
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._overall = asyncio.Semaphore(http.max_connections)
        self._per_host = _HostLimits(http.max_per_host)
        self._plain: dict[str, str] = {}
        self._urls: dict[str, URL] = {}
        self._sending = 0  # requests on their way
        self._idle = asyncio.Event()
        self._idle.set()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            context = ssl.create_default_context(
                cafile=str(self._http.ca_file) if self._http.ca_file else None
            )
            connector = aiohttp.TCPConnector(
                limit=self._http.max_connections,
                limit_per_host=0,
                keepalive_timeout=self._http.keepalive_s,
                ttl_dns_cache=self._http.dns_cache_s or None,
                use_dns_cache=self._http.dns_cache_s > 0,
                resolver=GuardedResolver(
                    policy=self._policy, inner=self._resolver or DefaultResolver()
                ),
                ssl=context,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=True,
                trust_env=False,
            )
        return self._session

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        """Attempt every job concurrently; one outcome per job, in order."""
        return await asyncio.gather(*(self._attempt(job) for job in jobs))

    async def aclose(self) -> None:
        """Close the pooled connections, once the requests on their way are over.

        The worker closes its transport only after its last batch (`DeliveryWorker` waits for
        every task at a stop); this is the transport's own guard, bounded by the request
        timeout: a request is never cut off with "Session is closed".
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._http.timeout_s):
                await self._idle.wait()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _attempt(self, job: DeliveryJob) -> DeliveryOutcome:
        started = self._clock()
        try:
            request = self._prepare(job, started)
        except InvalidDestinationError as exc:
            return self._failed(started, exc, detail=f"{exc} - {FAIL}", sent=False)
        except UndecryptableSecretError as exc:
            detail = f"The integration's secret key cannot be decrypted; not sent - {FAIL}"
            return self._failed(started, exc, detail=detail, sent=False)
        except BlockedAddressError as exc:
            return self._failed(started, exc, detail=_blocked(exc), sent=False)
        key = (request.url.host or "", request.url.port or 0)
        if not may_start():
            return not_started()
        await self._overall.acquire()
        try:
            await self._per_host.acquire(key)
            try:
                # after the wait for a slot: a revoke or a stop meanwhile hands the job back
                if not may_start():
                    return not_started()
                self._sending += 1
                self._idle.clear()
                try:
                    return await self._send(request, started)
                finally:
                    self._sending -= 1
                    if not self._sending:
                        self._idle.set()
            finally:
                self._per_host.release(key)
        finally:
            self._overall.release()

    def _prepare(self, job: DeliveryJob, now: datetime) -> _Request:
        configuration = job.integration.configuration
        raw_url = configuration.get("url")
        if not isinstance(raw_url, str) or not raw_url:
            raise InvalidDestinationError("The integration has no url")
        url = self._destination(raw_url)
        secret = self._secret(configuration.get("secret_key"))
        body = encode_webhook_body(
            job, url=raw_url, secret_key=secret, body_secret=self._http.body_secret
        )
        headers = webhook_headers(
            job=job,
            body=body,
            secret_key=secret,
            timestamp=int(now.timestamp()),
            user_agent=self._http.user_agent,
        )
        traceparent = traceparent_for(job.job_id)
        if traceparent is not None:
            headers[TRACEPARENT] = traceparent
        return _Request(url=url, body=body, headers=headers, secret=secret)

    def _destination(self, raw_url: str) -> URL:
        """The parsed, checked URL (cached once it passed: integrations reuse theirs for every
        job, and the policy does not change while the process runs)."""
        url = self._urls.get(raw_url)
        if url is None:
            try:
                url = URL(raw_url)
            except ValueError as exc:
                raise InvalidDestinationError(f"The integration's url is malformed: {exc}") from exc
            if url.scheme not in ("http", "https") or not url.host:
                raise InvalidDestinationError("The integration's url must be an http(s) URL")
            self._policy.check_host(url.host or "")  # a blocked literal address is never cached
            if len(self._urls) >= _CACHE_SIZE:
                self._urls.clear()
            self._urls[raw_url] = url
        return url

    def _secret(self, ciphertext: Any) -> str | None:
        if not isinstance(ciphertext, str) or not ciphertext:
            return None
        plain = self._plain.get(ciphertext)
        if plain is None:
            if self._secrets is None:
                raise UndecryptableSecretError("no encryption keys are configured")
            plain = self._secrets.decrypt(ciphertext)
            if len(self._plain) >= _CACHE_SIZE:
                self._plain.clear()
            self._plain[ciphertext] = plain
        return plain

    async def _send(self, request: _Request, started: datetime) -> DeliveryOutcome:
        url = request.url
        try:
            async with asyncio.timeout(self._http.timeout_s):
                async with self._client().post(
                    url, data=request.body, headers=request.headers, allow_redirects=False
                ) as response:
                    # A receiver may echo the request, secret included: never log or store it.
                    body = redact(
                        await _read_capped(response, self._http.max_body_bytes), [request.secret]
                    )
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
        except BlockedAddressError as exc:
            return self._failed(started, exc, detail=_blocked(exc), sent=False)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            detail = self._failure_detail(exc, url)
            return self._failed(started, ReceiverFailedError(detail), detail=detail)
        return self._answered(started, status=status, body=body, retry_after=retry_after)

    def _failure_detail(self, exc: BaseException, url: URL) -> str:
        target = f"{url.host}:{url.port}"
        if isinstance(exc, TimeoutError):
            return f"Timed out after {self._http.timeout_s:g} seconds - {FAIL}"
        if isinstance(exc, aiohttp.ClientConnectorError):
            return _connect_detail(exc, host=url.host or "", target=target)
        return f"The connection to {target} failed: {_reason(exc)} - {FAIL}"

    def _answered(
        self, started: datetime, *, status: int, body: bytes, retry_after: str | None
    ) -> DeliveryOutcome:
        if 200 <= status < 300:
            return DeliveryOutcome(
                succeeded=True,
                status_code=status,
                body=body,
                started_at=started,
                finished_at=self._clock(),
            )
        error: IntegrationsError
        if status == 410:
            detail = f"Received 410 Gone - the receiver asked for no more attempts - {FAIL}"
            error = ReceiverGoneError(detail)
        else:
            detail = OUTSIDE_2XX
            if 300 <= status < 400:
                detail = f"{OUTSIDE_2XX} (redirects are not followed)"
            delay = None
            if status in RETRY_AFTER_STATUSES and retry_after:
                delay = parse_retry_after(retry_after, now=self._clock())
            error = ReceiverFailedError(detail, delay=delay)
        return self._failed(started, error, detail=detail, status_code=status, body=body)

    def _failed(
        self,
        started: datetime,
        error: IntegrationsError,
        *,
        detail: str,
        status_code: int | None = None,
        body: bytes = b"",
        sent: bool = True,
    ) -> DeliveryOutcome:
        """The outcome the shared error-to-verdict table gives `error`."""
        return failed(
            error,
            detail=detail,
            status_code=status_code,
            body=body,
            sent=sent,
            started_at=started,
            finished_at=self._clock(),
        )


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_retry_after(value: str, *, now: datetime) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or an HTTP date); None if unreadable."""
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _connect_detail(exc: aiohttp.ClientConnectorError, *, host: str, target: str) -> str:
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"Could not resolve host {host} - {FAIL}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return f"TLS error with {target}: {_reason(exc)} - {FAIL}"
    if exc.os_error.errno == errno.ECONNREFUSED:
        return f"Connection refused by {target} - {FAIL}"
    return f"Could not connect to {target}: {_reason(exc.os_error)} - {FAIL}"


def _blocked(exc: BlockedAddressError) -> str:
    return f"Blocked by the SSRF guard: {exc}; the request was not sent - {FAIL}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
