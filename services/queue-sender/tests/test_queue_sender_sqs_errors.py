"""Mapping SQS failures to retry meaning and exact `error_detail` text."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from integrations_queue_sender.errors import (
    DestinationRejectedError,
    DestinationUnavailableError,
    failure,
)
from integrations_queue_sender.sqs_errors import client_error, entry_error, transport_error

pytestmark = pytest.mark.unit

URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
KEY = "AKIAEXAMPLEEXAMPLE01"


def _error(code: str, status: int, message: str = "") -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "SendMessageBatch")  # type: ignore[arg-type]


def test_denied_access_names_the_queue_and_hides_the_key() -> None:
    error = client_error(
        _error("InvalidClientTokenId", 403, f"The security token {KEY} is invalid."),
        queue_url=URL,
        access_key_id=KEY,
    )
    assert isinstance(error, DestinationRejectedError)
    assert error.detail == (
        f"access to the SQS queue {URL} was denied (InvalidClientTokenId): "
        "The security token ****************LE01 is invalid."
    )
    outcome = failure(error)
    assert outcome.status_code == 403
    assert outcome.give_up  # permanent: dead-lettered at once, replayed once the owner fixes it


def test_missing_queue_says_so() -> None:
    error = client_error(
        _error("AWS.SimpleQueueService.NonExistentQueue", 400), queue_url=URL, access_key_id=KEY
    )
    assert isinstance(error, DestinationRejectedError)
    assert (
        error.detail
        == f"the SQS queue {URL} does not exist (AWS.SimpleQueueService.NonExistentQueue)"
    )


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("Whatever", 429)])
def test_throttling_is_retryable(code: str, status: int) -> None:
    error = client_error(_error(code, status), queue_url=URL, access_key_id=KEY)
    assert isinstance(error, DestinationUnavailableError)
    assert error.detail == f"SQS throttled the request ({code})"


def test_server_errors_are_retryable() -> None:
    error = client_error(_error("InternalError", 503, "busy"), queue_url=URL, access_key_id=KEY)
    assert isinstance(error, DestinationUnavailableError)
    assert error.detail == "SQS failed with HTTP 503 (InternalError): busy"


def test_other_client_errors_are_rejections() -> None:
    error = client_error(
        _error("InvalidParameterValue", 400, "bad"), queue_url=URL, access_key_id=KEY
    )
    assert isinstance(error, DestinationRejectedError)
    assert error.detail == "SQS rejected the request (InvalidParameterValue): bad"


def test_entry_errors_follow_the_sender_fault_flag() -> None:
    assert isinstance(entry_error("X", "m", sender_fault=True), DestinationRejectedError)
    assert isinstance(entry_error("X", "", sender_fault=False), DestinationUnavailableError)
    assert entry_error("X", "", sender_fault=False).detail == "SQS failed to store the message (X)"


def test_connection_failures_are_retryable() -> None:
    error = transport_error(
        EndpointConnectionError(endpoint_url="http://x"), endpoint_url="http://x"
    )
    assert isinstance(error, DestinationUnavailableError)
    assert error.detail.startswith("SQS request to http://x failed (EndpointConnectionError)")
    assert transport_error(TimeoutError(), endpoint_url="http://x").detail == (
        "could not reach SQS at http://x (TimeoutError)"
    )
