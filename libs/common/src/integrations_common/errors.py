"""The platform's error hierarchy: every error says whether retrying can help.

Library errors never leak past a boundary: wrap calls in `map_exceptions`, which turns
them into the narrow subclasses below.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class IntegrationsError(Exception):
    """Root of every error the platform raises."""

    retryable: bool = False


class RetryableError(IntegrationsError):
    """A failure that may succeed later; `delay` is the earliest sensible retry, in seconds."""

    retryable = True

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(IntegrationsError):
    """A failure that will not succeed on retry without a change of input or configuration."""


class ConfigurationError(PermanentError):
    """Settings are missing or inconsistent."""


class BrokerUnavailableError(RetryableError):
    """Kafka (or another broker) cannot be reached right now."""


class StoreUnavailableError(RetryableError):
    """The MongoDB-compatible store cannot be reached right now."""


ExceptionMapping = Mapping[type[BaseException], type[IntegrationsError]]


@contextmanager
def map_exceptions(mapping: ExceptionMapping) -> Iterator[None]:
    """Re-raise library exceptions as the platform error mapped to their closest type."""
    try:
        yield
    except IntegrationsError:
        raise
    except Exception as exc:
        target: type[IntegrationsError] | None = None
        for source, candidate in mapping.items():
            if isinstance(exc, source) and (target is None or issubclass(candidate, target)):
                target = candidate
        if target is None:
            raise
        raise target(str(exc) or type(exc).__name__) from exc
