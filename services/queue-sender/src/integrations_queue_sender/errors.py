"""The queue sender's errors. Each carries the exact `error_detail` an attempt log shows.

Transports never let these escape `deliver`: `failure()` turns one into a failed outcome through
the shared error-to-verdict table (`integrations_common.delivery.failed`): a retryable error is
retried on the schedule (a destination that is down may come back); a permanent one (a queue that
does not exist, access denied, a configuration that cannot work) goes to the dead-letter topic at
once, to be replayed after its owner fixes the integration.
"""

from __future__ import annotations

from integrations_common.delivery.transport import DeliveryOutcome, failed
from integrations_common.errors import IntegrationsError, PermanentError, RetryableError


class QueueSenderError(IntegrationsError):
    """Root of the queue sender's errors; `status_code` is the destination's answer, if any."""

    status_code: int | None = None

    @property
    def detail(self) -> str:
        """The text for the attempt log's `error_detail`."""
        return str(self)


class DestinationUnavailableError(QueueSenderError, RetryableError):
    """The queue or broker failed this attempt (unreachable, throttled, 5xx, no receipt)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class BlockedAddressError(DestinationUnavailableError):
    """The SSRF guard refused a destination's address; nothing was sent.

    Retryable, as for webhooks: the name may resolve elsewhere later, or an operator may allow
    the range (`QUEUE_SENDER_SSRF__ALLOW_CIDRS`).
    """

    def __init__(self, *, host: str, address: str, reason: str) -> None:
        super().__init__(
            f"Blocked by the SSRF guard: {host} resolves to {address}, a {reason} address; "
            "not connected"
        )
        self.host = host
        self.address = address
        self.reason = reason


class DestinationRejectedError(QueueSenderError, PermanentError):
    """The destination refused as configured (unknown queue, access denied, bad login).

    Permanent until the integration's owner changes its configuration.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class InvalidConfigurationError(QueueSenderError, PermanentError):
    """The integration's configuration cannot be used at all (missing or malformed field)."""


def failure(error: QueueSenderError) -> DeliveryOutcome:
    """A failed outcome that reports `error` exactly; its class decides retry or give up."""
    return failed(error, detail=error.detail, status_code=error.status_code)
