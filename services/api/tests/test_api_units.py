"""Unit tests of the pure parts: page links, secret sealing, observes rules, claims."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from integrations_api.auth.service import tenant_from_claims
from integrations_api.errors import AuthenticationError
from integrations_api.integrations.secrets import seal
from integrations_api.integrations.validation import validate_configuration, validate_observes
from integrations_api.pagination import Page
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.store.masking import masked_view
from integrations_common.tenancy import Tenant
from integrations_common.transports import Transport

pytestmark = pytest.mark.unit

STORE = Tenant(store_id="s", org_id="o")
ORG = Tenant(org_id="o")


@pytest.mark.parametrize(
    ("offset", "limit", "total", "expected"),
    [
        (0, 10, 0, {"first"}),
        (0, 10, 10, {"first"}),
        (0, 10, 11, {"first", "next", "last"}),
        (10, 10, 11, {"first", "prev", "last"}),
        (5, 10, 30, {"first", "prev", "next", "last"}),
        (100, 10, 30, {"first", "prev", "last"}),
    ],
)
def test_page_links(offset: int, limit: int, total: int, expected: set[str]) -> None:
    page = Page(offset=offset, limit=limit)
    links = page.links("/v2/integrations", total=total, has_next=offset + limit < total)
    assert set(links) == expected
    if "last" in links:
        assert (
            links["last"]
            == f"/v2/integrations?page[offset]={(total - 1) // 10 * 10}&page[limit]=10"
        )
    if "prev" in links:
        assert links["prev"].startswith(f"/v2/integrations?page[offset]={max(offset - limit, 0)}&")


def test_seal_encrypts_masks_and_keeps_echoed_masks() -> None:
    box = SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))
    stored, masked = seal(
        box=box,
        integration_type=Transport.SQS,
        configuration={
            "url": "u",
            "aws_access_key_id": "AKIA0000JIMB",
            "aws_secret_access_key": "short",
        },
    )
    assert masked == {"aws_access_key_id": "********JIMB", "aws_secret_access_key": "*****"}
    assert box.decrypt(stored["aws_access_key_id"]) == "AKIA0000JIMB"
    assert stored["url"] == "u"
    assert masked_view(stored, masked)["aws_access_key_id"] == "********JIMB"
    again, _ = seal(
        box=box,
        integration_type=Transport.SQS,
        configuration={**masked_view(stored, masked), "aws_secret_access_key": "changed-secret"},
        previous=stored,
        previous_masked=masked,
    )
    assert again["aws_access_key_id"] == stored["aws_access_key_id"]
    assert box.decrypt(again["aws_secret_access_key"]) == "changed-secret"


def test_seal_keeps_a_stored_secret_that_an_update_did_not_name() -> None:
    """A partial update merges the stored configuration (ciphertext) with the new keys; the
    ciphertext must not be encrypted a second time."""
    box = SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))
    stored, masked = seal(
        box=box,
        integration_type=Transport.WEBHOOK,
        configuration={"url": "https://a.example.com", "secret_key": "secret_squirrel"},
    )
    merged = {**stored, "url": "https://b.example.com"}
    again, masked_again = seal(
        box=box,
        integration_type=Transport.WEBHOOK,
        configuration=merged,
        previous=stored,
        previous_masked=masked,
    )
    assert box.decrypt(again["secret_key"]) == "secret_squirrel"
    assert masked_again == masked


def test_rotated_keys_still_decrypt() -> None:
    old, new = generate_key(), generate_key()
    old_box = SecretBox(EncryptionSettings(keys=SecretStr(old)))
    stored, _ = seal(
        box=old_box,
        integration_type=Transport.STOMP,
        configuration={"password": "pw-1234567"},
    )
    rotated = SecretBox(EncryptionSettings(keys=SecretStr(f"{new},{old}")))
    assert rotated.decrypt(stored["password"]) == "pw-1234567"


@pytest.mark.parametrize(
    ("tenant", "observes", "bad"),
    [
        (STORE, ["order.*", "product.deleted", "my-api.created", "my-api.*"], []),
        (STORE, ["order.exploded", "*", "order", ".created", "x" * 200], [0, 1, 2, 3, 4]),
        (ORG, ["integration.*", "catalog-release.deleted"], []),
        (ORG, ["order.paid", "my-api.created", "customer.*"], [0, 1, 2]),
    ],
)
def test_observes_rules(tenant: Tenant, observes: list[str], bad: list[int]) -> None:
    problems = validate_observes(observes, tenant)
    assert [p.pointer for p in problems] == [f"/data/observes/{i}" for i in bad]


def test_configuration_problems_name_their_fields() -> None:
    parsed, problems = validate_configuration(
        Transport.STOMP, {"addresses": ["stomp://ok:1", "https://no"], "destination": "/q"}
    )
    assert parsed is None
    assert [p.pointer for p in problems] == ["/data/configuration/addresses/1"]


@pytest.mark.parametrize(
    "claims",
    [{}, {"store_id": ""}, {"store_id": 3}, {"org_id": ["o"]}, {"store_id": "s" * 500}],
)
def test_claims_without_a_valid_tenant(claims: dict[str, object]) -> None:
    with pytest.raises(AuthenticationError):
        tenant_from_claims(claims)


def test_claims_name_the_tenant() -> None:
    assert tenant_from_claims({"store_id": "s", "org_id": "o"}).key == "store:s"
    assert tenant_from_claims({"org_id": "o"}).key == "org:o"
