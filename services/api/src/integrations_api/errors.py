"""The API's error envelope `{"errors": [{"status", "title", "detail"}]}` for every 4xx and 5xx."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


def error_response(status: int, detail: str) -> JSONResponse:
    """One error in the spec's format."""
    title = HTTPStatus(status).phrase
    return JSONResponse(
        status_code=status,
        content={"errors": [{"status": status, "title": title, "detail": detail}]},
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    response = error_response(exc.status_code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Make unknown routes, wrong methods and other HTTP errors answer in the error envelope."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
