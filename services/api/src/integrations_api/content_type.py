"""Request bodies are JSON: a body declared as anything else is refused with 415."""

from __future__ import annotations

from fastapi import Request

from integrations_api.errors import UnsupportedMediaTypeError


def is_json(content_type: str) -> bool:
    """`application/json` or a `+json` type such as `application/vnd.api+json`, any parameters."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def require_json(request: Request) -> None:
    """Refuse a body whose `Content-Type` is not JSON (no `Content-Type`: read as JSON)."""
    content_type = request.headers.get("content-type")
    if content_type is not None and not is_json(content_type):
        raise UnsupportedMediaTypeError(
            "The request body must be JSON (Content-Type: application/json)."
        )
