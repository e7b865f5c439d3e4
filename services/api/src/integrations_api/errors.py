"""The API's domain errors, and the ONE place that turns any error into the spec's envelope.

Every 4xx and 5xx answer is `{"errors": [{"status", "title", "detail", "source"?}]}`. Service
functions raise the domain errors below (never HTTP exceptions); `install_error_handlers` maps
them, FastAPI's request validation errors, Starlette's routing errors and anything unexpected.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from integrations_api.openapi import allowed_methods
from integrations_common.errors import IntegrationsError, PermanentError, RetryableError

logger = logging.getLogger(__name__)

VALIDATION_TITLE = "Validation Error"


class ErrorBody(BaseModel):
    """One error."""

    status: int
    title: str
    detail: str | None = None
    source: dict[str, str] | None = None


class ErrorResponse(BaseModel):
    """The error envelope."""

    errors: list[ErrorBody]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: a JSON pointer into the body, or a parameter name."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None

    def source(self) -> dict[str, str] | None:
        """The JSON:API `source` member, when the problem has a location."""
        if self.pointer is not None:
            return {"pointer": self.pointer}
        if self.parameter is not None:
            return {"parameter": self.parameter}
        return None


class ApiError(PermanentError):
    """A request the API refuses; `status` is the HTTP status it answers with."""

    status: int = 400
    title: str = "Bad Request"

    def __init__(
        self,
        detail: str,
        *,
        problems: Sequence[Problem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = tuple(problems) or (Problem(detail),)
        self.headers = dict(headers or {})


class BadRequestError(ApiError):
    """The request cannot be read (for example malformed JSON)."""


class AuthenticationError(ApiError):
    """No bearer token, or one that is expired, badly signed or without a tenant."""

    status = 401
    title = "Unauthorized"


class NotFoundError(ApiError):
    """The resource does not exist for this tenant (another tenant's resource looks the same)."""

    status = 404
    title = "Not Found"

    def __init__(self, detail: str = "The resource could not be found") -> None:
        super().__init__(detail)


class ConflictError(ApiError):
    """The resource changed concurrently too often to apply the request."""

    status = 409
    title = "Conflict"


class PayloadTooLargeError(ApiError):
    """The request body is larger than the configured maximum."""

    status = 413
    title = "Payload Too Large"


class RateLimitedError(ApiError):
    """The tenant made more requests than its token bucket allows (429 with `Retry-After`)."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, *, retry_after_s: int) -> None:
        super().__init__(
            f"Too many requests for this tenant; retry after {retry_after_s} seconds.",
            headers={"Retry-After": str(retry_after_s)},
        )


class KeySourceUnavailableError(RetryableError):
    """The JWKS endpoint cannot be reached or answers no usable key set (503, retry later)."""


class UnsupportedMediaTypeError(ApiError):
    """A request body that is declared as something other than JSON."""

    status = 415
    title = "Unsupported Media Type"


class ValidationFailedError(ApiError):
    """The request is well formed but invalid: one `Problem` per invalid field."""

    status = 422
    title = VALIDATION_TITLE

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("Your request was invalid", problems=problems)


def error_document(status: int, title: str, problems: Sequence[Problem]) -> dict[str, Any]:
    """The error envelope for one or more problems with the same status."""
    errors: list[dict[str, Any]] = []
    for problem in problems:
        entry: dict[str, Any] = {"status": status, "title": title, "detail": problem.detail}
        source = problem.source()
        if source is not None:
            entry["source"] = source
        errors.append(entry)
    return {"errors": errors}


def error_response(status: int, detail: str, *, title: str | None = None) -> JSONResponse:
    """One error in the spec's format."""
    return JSONResponse(
        status_code=status,
        content=error_document(status, title or HTTPStatus(status).phrase, [Problem(detail)]),
    )


def _location(loc: Sequence[int | str]) -> tuple[str | None, str | None]:
    """(JSON pointer, parameter name) for a pydantic error location."""
    if not loc:
        return None, None
    where, *rest = loc
    if where == "body":
        return "/" + "/".join(
            str(part).replace("~", "~0").replace("/", "~1") for part in rest
        ), None
    if where in ("query", "path", "header") and rest:
        return None, str(rest[0])
    return None, None


def _label(loc: Sequence[int | str]) -> str:
    """A readable field name: `name`, `observes.0`, `page[limit]`, or `the request body`."""
    where, *rest = loc or ("body",)
    parts = [str(p) for p in rest]
    if where == "body" and parts[:1] == ["data"] and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "the request body"


def _describe(error: dict[str, Any]) -> Problem:
    loc = tuple(error.get("loc", ()))
    pointer, parameter = _location(loc)
    message = str(error.get("msg", "is invalid"))
    if error.get("type") == "extra_forbidden":
        message = "is not a known field"
    elif error.get("type") == "missing":
        message = "is required"
    return Problem(
        f"{_label(loc)}: {message}",
        pointer=pointer if pointer != "/" else None,
        parameter=parameter,
    )


def problems_from_validation(errors: Sequence[Any]) -> list[Problem]:
    """One problem per pydantic error, naming the field it concerns."""
    return [_describe(dict(error)) for error in errors]


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for this type only
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    headers.update(exc.headers)
    return JSONResponse(
        status_code=exc.status,
        content=error_document(exc.status, exc.title, exc.problems),
        headers=headers,
    )


async def _request_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "The request body is not valid JSON.")
    problems = problems_from_validation(errors)
    return JSONResponse(status_code=422, content=error_document(422, VALIDATION_TITLE, problems))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = "The resource could not be found"
    response = error_response(exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        # Starlette names the methods of the first matching route only; the document has all.
        methods = allowed_methods(request.app.openapi(), request.url.path)
        if methods:
            response.headers["Allow"] = ", ".join(methods)
    return response


async def _platform_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntegrationsError)  # noqa: S101 - registered for this type only
    if isinstance(exc, RetryableError):
        logger.warning(
            "a dependency is unavailable",
            extra={"path": request.url.path, "error": type(exc).__name__},
        )
        response = error_response(503, "A dependency is unavailable; retry later.")
        response.headers["Retry-After"] = "5"
        return response
    return await _unexpected(request, exc)


def log_unexpected(*, path: str, exc: BaseException) -> None:
    """Log an unexpected error by type and frames only: its message may quote input (secrets)."""
    logger.error(
        "unhandled error",
        extra={
            "path": path,
            "error": type(exc).__name__,
            "trace": "".join(traceback.format_tb(exc.__traceback__)),
        },
    )


def internal_error_response() -> JSONResponse:
    """The 500 answer: nothing about the failure leaves the process."""
    return error_response(500, "An internal error has occurred.")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log_unexpected(path=request.url.path, exc=exc)
    return internal_error_response()


def install_error_handlers(app: FastAPI) -> None:
    """Make every expected error of `app` answer in the error envelope.

    Anything else is answered by `UnexpectedErrorMiddleware` (not by an `Exception` handler:
    Starlette re-raises after such a handler, and the server then logs the message).
    """
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrationsError, _platform_error)
