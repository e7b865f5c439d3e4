"""How a receiver keys the Standard Webhooks verifier (see docs/webhooks.md).

The signing key is the integration's `secret_key`: a `whsec_…` value is a Standard Webhooks secret,
any other value is used as its raw UTF-8 bytes.
"""

from __future__ import annotations


def signing_key_for(secret_key: str) -> str | bytes:
    """What to pass to `standardwebhooks.Webhook(...)` for a configured secret."""
    return secret_key if secret_key.startswith("whsec_") else secret_key.encode()
