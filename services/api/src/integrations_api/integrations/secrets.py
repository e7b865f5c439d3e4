"""Secret configuration fields: encrypted at rest, masked in every answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from integrations_common.integrations import SECRET_FIELDS, IntegrationType
from integrations_common.secret_box import SecretBox, mask


def seal(
    *,
    box: SecretBox,
    integration_type: IntegrationType,
    configuration: dict[str, Any],
    previous: dict[str, Any] | None = None,
    previous_masked: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(configuration with secrets encrypted, masked form of each secret).

    A secret equal to its current masked form (a client sending back what it read), or to its
    stored ciphertext (an update that did not name it: the merge carries the stored value),
    keeps its stored ciphertext.
    """
    previous = previous or {}
    previous_masked = previous_masked or {}
    stored = dict(configuration)
    masked: dict[str, str] = {}
    for field in SECRET_FIELDS[integration_type]:
        value = configuration.get(field)
        if value is None:
            continue
        if field in previous and value in (previous_masked.get(field), previous[field]):
            stored[field] = previous[field]
            masked[field] = previous_masked[field]
            continue
        stored[field] = box.encrypt(value)
        masked[field] = mask(value)
    return stored, masked


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
