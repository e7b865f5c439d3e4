"""The webhook sender's errors; each says whether a retry can help."""

from __future__ import annotations

from integrations_common.errors import PermanentError, RetryableError


class WebhookError(RetryableError):
    """Root of the webhook sender's delivery errors (retryable unless stated otherwise)."""


class BlockedAddressError(WebhookError):
    """The SSRF guard refused a destination; nothing was sent.

    Retryable: the name may resolve elsewhere later, or an operator may allow the range.
    """

    def __init__(self, *, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} resolves to {address}, a {reason} address")
        self.host = host
        self.address = address
        self.reason = reason


class InvalidDestinationError(PermanentError):
    """The integration's URL cannot be used (missing, not http(s), malformed)."""


class ReceiverFailedError(WebhookError):
    """The receiver could not be reached or answered outside 2xx; `delay` from `Retry-After`."""


class ReceiverGoneError(PermanentError):
    """The receiver answered 410 Gone: it asks for no more attempts."""
