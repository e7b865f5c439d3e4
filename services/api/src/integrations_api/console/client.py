"""The console's way into the API: the public `/v2` routes, called in-process as the user.

Every call goes through the whole ASGI application (middleware, authentication, rate limit,
validation), so what the console shows is exactly what the API answers to that token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp

API = "/v2"


@dataclass(frozen=True)
class ApiAnswer:
    """One answer of the API: its status and its JSON body (empty when it has none)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The `errors` entries of an error answer."""
        errors = self.body.get("errors")
        return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []

    def first_detail(self) -> str:
        """The first error's detail, for a one-line message."""
        for error in self.errors:
            detail = error.get("detail")
            if isinstance(detail, str):
                return detail
        return f"The API answered {self.status}."


class ApiClient:
    """Calls the API's routes on `app` with the user's bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://console.internal",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> ApiAnswer:
        """One call; the path is relative to `/v2`."""
        response = await self._client.request(method, API + path, params=params, json=json)
        body: dict[str, Any] = {}
        if response.content:
            try:
                parsed = response.json()
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                body = parsed
        return ApiAnswer(status=response.status_code, body=body)
