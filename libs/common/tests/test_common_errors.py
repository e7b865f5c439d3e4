"""The error hierarchy and map_exceptions."""

from __future__ import annotations

import pytest

from integrations_common.errors import (
    BrokerUnavailableError,
    ExceptionMapping,
    IntegrationsError,
    PermanentError,
    RetryableError,
    map_exceptions,
)

pytestmark = pytest.mark.unit


def test_retry_meaning_is_carried_by_the_class() -> None:
    error = RetryableError("later", delay=5)
    assert error.retryable
    assert error.delay == 5
    assert not PermanentError("never").retryable


def test_map_exceptions_picks_the_narrowest_mapping() -> None:
    mapping: ExceptionMapping = {OSError: RetryableError, ConnectionError: BrokerUnavailableError}
    with pytest.raises(BrokerUnavailableError) as caught, map_exceptions(mapping):
        raise ConnectionRefusedError("refused")
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


def test_map_exceptions_leaves_unmapped_and_own_errors_alone() -> None:
    with pytest.raises(KeyError), map_exceptions({OSError: RetryableError}):
        raise KeyError("k")
    with pytest.raises(PermanentError), map_exceptions({Exception: RetryableError}):
        raise PermanentError("mine")
    assert issubclass(RetryableError, IntegrationsError)
