"""What a client may see of a stored configuration: secrets by their masked form, credentials
in URLs as `****@`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

URL_FIELDS = ("url", "addresses")
URL_CREDENTIALS_MASK = "****"


def without_url_credentials(url: str) -> str:
    """`url` with any `user:password@` replaced by `****@` (integrations stored before 422)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{URL_CREDENTIALS_MASK}@{host}"))


def _mask_urls(key: str, value: Any) -> Any:
    if key not in URL_FIELDS:
        return value
    if isinstance(value, str):
        return without_url_credentials(value)
    if isinstance(value, list):
        return [without_url_credentials(v) if isinstance(v, str) else v for v in value]
    return value


def masked_view(configuration: dict[str, Any], masked: dict[str, str]) -> dict[str, Any]:
    """The configuration as a client may see it: secrets replaced by their masked form.

    New URLs with credentials are refused (422); one stored before that rule shows `****@`.
    """
    return {
        key: masked[key] if key in masked else _mask_urls(key, value)
        for key, value in configuration.items()
    }
