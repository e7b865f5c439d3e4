"""The console's session: the bearer token in a cookie, CSRF protection, and dev sign-in.

- The token lives in an HttpOnly, SameSite=Strict cookie scoped to `/console` (Secure over
  HTTPS), so page scripts cannot read it and other sites cannot send it.
- Every POST carries a `csrf` field equal to the `console_csrf` cookie (double submit; the
  cookie is random per browser session, HttpOnly and SameSite=Strict), and a cross-origin
  `Origin` header is refused.
- Dev sign-in mints a token only when `dev_sign_in_allowed` holds; see its docstring.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from pathlib import Path

from fastapi import Request, Response

from integrations_api.console.settings import ConsoleSettings
from integrations_api.settings import ApiSettings

TOKEN_COOKIE = "console_token"  # noqa: S105  (a cookie name)
CSRF_COOKIE = "console_csrf"
COOKIE_PATH = "/console"
DEV_SECRET_VARIABLE = "INTEGRATIONS_JWT_SECRET"  # noqa: S105  (a variable name)
LOOPBACK_NAMES = frozenset({"localhost"})


def token_of(request: Request) -> str | None:
    """The signed-in user's bearer token."""
    return request.cookies.get(TOKEN_COOKIE) or None


def csrf_of(request: Request) -> str:
    """The browser's CSRF value (a new one when it has none; `remember_csrf` sets it)."""
    value = request.cookies.get(CSRF_COOKIE)
    if value:
        return value
    cached: str | None = getattr(request.state, "new_csrf", None)
    if cached is None:
        cached = secrets.token_urlsafe(32)
        request.state.new_csrf = cached
    return cached


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def remember_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie when this request made a new value."""
    value: str | None = getattr(request.state, "new_csrf", None)
    if value is not None and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            value,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
        )


def csrf_ok(request: Request, submitted: str) -> bool:
    """The form's value matches the cookie, and the request does not come from another origin."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            return False
    return bool(cookie) and hmac.compare_digest(cookie.encode(), submitted.encode())


def sign_in(request: Request, response: Response, token: str) -> None:
    """Keep the token (and a fresh CSRF value) in the browser."""
    secure = _secure(request)
    response.set_cookie(
        TOKEN_COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def sign_out(response: Response) -> None:
    """Forget the token and the CSRF value."""
    response.delete_cookie(TOKEN_COOKIE, path=COOKIE_PATH)
    response.delete_cookie(CSRF_COOKIE, path=COOKIE_PATH)


def _file_secret(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == DEV_SECRET_VARIABLE:
            return value.strip() or None
    return None


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dev_signing_secret(settings: ApiSettings, console: ConsoleSettings) -> str | None:
    """The secret dev sign-in may sign with, or None when dev sign-in must not exist.

    All three must hold: the API verifies HS256 tokens with a shared secret (not a public key
    or JWKS, as in production); that secret is exactly the one `make up` generated into the
    local secrets file (`.run/secrets.env`, never deployed); and the API listens on a loopback
    address only (production binds 0.0.0.0). So a production configuration cannot reach it.
    """
    auth = settings.auth
    if auth.jwt_secret is None or not auth.jwt_secret.get_secret_value():
        return None
    if not _loopback(settings.host):
        return None
    local = _file_secret(console.dev_secrets_file)
    configured = auth.jwt_secret.get_secret_value()
    if local is None or not hmac.compare_digest(local.encode(), configured.encode()):
        return None
    return configured
