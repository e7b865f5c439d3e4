"""Secret configuration fields: encrypted at rest (masked in every answer by
`integrations_common.store.masking`)."""

from __future__ import annotations

from typing import Any

from integrations_common.integrations import SECRET_FIELDS
from integrations_common.secret_box import SecretBox, mask
from integrations_common.transports import Transport


def seal(
    *,
    box: SecretBox,
    integration_type: Transport,
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
