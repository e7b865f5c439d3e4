"""Encryption at rest for integration secrets, with key rotation.

Keys are Fernet keys, newest first: new values are encrypted with the first, and values written
under any listed key still decrypt. Rotate by prepending a new key, re-encrypting (`rotate`), then
dropping the old key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from integrations_common.errors import ConfigurationError, PermanentError

MASK_CHAR = "*"
VISIBLE_SUFFIX = 4
MIN_REDACTED = 4


class UndecryptableSecretError(PermanentError):
    """A stored secret was encrypted with a key that is no longer configured."""


class EncryptionSettings(BaseModel):
    """The Fernet keys, newest first, as one comma-separated value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: SecretStr = SecretStr("")

    @field_validator("keys")
    @classmethod
    def _normalise(cls, value: SecretStr) -> SecretStr:
        parts = [p.strip() for p in value.get_secret_value().split(",") if p.strip()]
        return SecretStr(",".join(parts))


class SecretBox:
    """Encrypts and decrypts configuration secrets."""

    def __init__(self, settings: EncryptionSettings) -> None:
        raw = [k for k in settings.keys.get_secret_value().split(",") if k]
        if not raw:
            raise ConfigurationError("no encryption keys are configured (ENCRYPTION__KEYS)")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in raw])
        except ValueError as exc:
            raise ConfigurationError("an encryption key is not a valid Fernet key") from exc

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext for `plaintext`, under the newest key."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """The plain text of a value this box (or an older key) encrypted."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableSecretError("a stored secret cannot be decrypted") from exc

    def rotate(self, ciphertext: str) -> str:
        """The same secret re-encrypted under the newest key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableSecretError("a stored secret cannot be decrypted") from exc


def generate_key() -> str:
    """A new random Fernet key."""
    return Fernet.generate_key().decode()


def mask(plaintext: str) -> str:
    """The spec's masked form: stars, then the last four characters."""
    visible = plaintext[-VISIBLE_SUFFIX:] if len(plaintext) > 2 * VISIBLE_SUFFIX else ""
    return MASK_CHAR * (len(plaintext) - len(visible)) + visible


@functools.lru_cache(maxsize=4096)
def _spellings(secret: str) -> tuple[tuple[bytes, ...], bytes]:
    """How a secret can appear in a body (as is, JSON-escaped, URL-encoded; longest first), and
    its masked form. Cached: every answer of an integration is redacted with the same secret."""
    spellings = {
        secret.encode(),
        json.dumps(secret)[1:-1].encode(),
        json.dumps(secret, ensure_ascii=False)[1:-1].encode(),
        quote(secret, safe="").encode(),
        quote_plus(secret, safe="").encode(),
    }
    return tuple(sorted(spellings, key=len, reverse=True)), mask(secret).encode()


def redact(data: bytes, secrets: Iterable[str | None]) -> bytes:
    """`data` with every occurrence of each secret replaced by its masked form (`mask`).

    For what a destination answers (a receiver may echo the request, secret included) before it
    is logged or stored. Secrets shorter than 4 characters are left alone: masking them would
    garble ordinary text and protect nothing.
    """
    for secret in secrets:
        if not secret or len(secret) < MIN_REDACTED:
            continue
        spellings, masked = _spellings(secret)
        for spelling in spellings:
            if spelling in data:
                data = data.replace(spelling, masked)
    return data
