"""What an SQS failure means for the attempt, and the exact words for its `error_detail`."""

from __future__ import annotations

import asyncio

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from integrations_common.secret_box import mask
from integrations_queue_sender.errors import (
    DestinationRejectedError,
    DestinationUnavailableError,
    QueueSenderError,
)

MISSING_QUEUE_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "InvalidSecurity",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "UnrecognizedClientException",
        "ExpiredToken",
        "KMS.AccessDeniedException",
        "KmsAccessDenied",
        "KmsDisabled",
        "KmsNotFound",
        "KmsInvalidState",
    }
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "KmsThrottled",
        "KMS.ThrottlingException",
    }
)
_HTTP_SERVER_ERROR = 500
_HTTP_TOO_MANY_REQUESTS = 429


def _hide(text: str, access_key_id: str) -> str:
    return text.replace(access_key_id, mask(access_key_id)) if access_key_id else text


def client_error(error: ClientError, *, queue_url: str, access_key_id: str) -> QueueSenderError:
    """Map an SQS API error for the whole call."""
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = _hide(str(details.get("Message", "")).strip(), access_key_id)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    said = f": {message}" if message else ""
    if code in MISSING_QUEUE_CODES:
        return DestinationRejectedError(
            f"the SQS queue {queue_url} does not exist ({code})", status_code=status
        )
    if code in ACCESS_CODES:
        return DestinationRejectedError(
            f"access to the SQS queue {queue_url} was denied ({code}){said}", status_code=status
        )
    if code in THROTTLING_CODES or status == _HTTP_TOO_MANY_REQUESTS:
        return DestinationUnavailableError(
            f"SQS throttled the request ({code})", status_code=status
        )
    if isinstance(status, int) and status >= _HTTP_SERVER_ERROR:
        return DestinationUnavailableError(
            f"SQS failed with HTTP {status} ({code}){said}", status_code=status
        )
    return DestinationRejectedError(f"SQS rejected the request ({code}){said}", status_code=status)


def entry_error(code: str, message: str, *, sender_fault: bool) -> QueueSenderError:
    """Map one failed entry of a `SendMessageBatch` answer."""
    said = f": {message}" if message else ""
    if sender_fault:
        return DestinationRejectedError(f"SQS rejected the message ({code}){said}")
    return DestinationUnavailableError(f"SQS failed to store the message ({code}){said}")


def transport_error(error: Exception, *, endpoint_url: str) -> QueueSenderError:
    """Map a failure to reach SQS at all (connection, timeout, client-side)."""
    name = type(error).__name__
    if isinstance(error, BotoCoreError):
        text = f"SQS request to {endpoint_url} failed ({name}): {error}"
    elif isinstance(error, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        text = f"could not reach SQS at {endpoint_url} ({name})"
    else:
        text = f"unexpected error talking to SQS at {endpoint_url} ({name})"
    return DestinationUnavailableError(text)
