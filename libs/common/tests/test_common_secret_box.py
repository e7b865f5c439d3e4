"""Secret encryption with key rotation, and masking."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest
from pydantic import SecretStr

from integrations_common.errors import ConfigurationError
from integrations_common.secret_box import (
    EncryptionSettings,
    SecretBox,
    UndecryptableSecretError,
    generate_key,
    mask,
    redact,
)

pytestmark = pytest.mark.unit


def _box(*keys: str) -> SecretBox:
    return SecretBox(EncryptionSettings(keys=SecretStr(" , ".join(keys))))


def test_round_trip_does_not_store_plain_text() -> None:
    box = _box(generate_key())
    token = box.encrypt("secret_squirrel")
    assert "secret_squirrel" not in token
    assert box.decrypt(token) == "secret_squirrel"


def test_rotation_keeps_old_values_readable() -> None:
    old, new = generate_key(), generate_key()
    written_before = _box(old).encrypt("s3cr3t")
    rotated_box = _box(new, old)

    assert rotated_box.decrypt(written_before) == "s3cr3t"
    rotated = rotated_box.rotate(written_before)
    assert _box(new).decrypt(rotated) == "s3cr3t"


def test_dropped_key_cannot_decrypt() -> None:
    token = _box(generate_key()).encrypt("s3cr3t")
    with pytest.raises(UndecryptableSecretError):
        _box(generate_key()).decrypt(token)


@pytest.mark.parametrize("keys", ["", "not-a-key"])
def test_bad_key_configuration_is_a_configuration_error(keys: str) -> None:
    with pytest.raises(ConfigurationError):
        _box(keys)


def test_mask_matches_the_spec_examples() -> None:
    assert mask("AKIAIOSFODNN7EXAJIMB") == "****************JIMB"
    assert mask("short") == "*****"


def test_redact_masks_every_spelling_of_a_secret_and_nothing_else() -> None:
    secret = 'p@ss/word+"x"'
    body = (
        f"raw {secret} json {json.dumps(secret)} url {quote(secret, safe='')} "
        f"form {quote_plus(secret, safe='')} other text"
    ).encode()
    redacted = redact(body, [secret, None, "abc"])
    assert secret.encode() not in redacted
    assert quote(secret, safe="").encode() not in redacted
    assert quote_plus(secret, safe="").encode() not in redacted
    assert redacted.count(mask(secret).encode()) == 4
    assert redacted.endswith(b"other text")
    assert redact(b"abc abc", ["abc"]) == b"abc abc"  # too short to mask meaningfully
